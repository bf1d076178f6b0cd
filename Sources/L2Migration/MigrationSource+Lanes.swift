/// Several lanes: pages over more than one TCP connection (QEMU's multifd, vMotion's streams).
///
/// Lane 0 is the connection that carries `hello`, every control message and pages too. Once the
/// destination's `specAccepted` arrived, the driver opens lanes 1…N−1 to the same listener (or to
/// another of the destination's vMotion interfaces), each starting with `openLane(_:)`'s lane hello.
/// The driver then hands each lane whose output drained the next chunk of the round's bitmap
/// (`produce(lane:into:budget:othersIdle:now:)`), so a slow lane never holds a round up: it just
/// takes fewer chunks. The round marker, and in the final round the switchover message, go on lane
/// 0 only once the round's pages are all handed out and every other lane has written its share
/// (`othersIdle`); the destination still counts the round's pages over all lanes before it acts on
/// the marker, since TCP orders each lane, not the lanes between them.
///
/// A lane lost before the switchover message fails the migration cleanly (the VM stays here); after
/// it, lane 0 decides, as with one stream: the destination either proves the copy there or says why
/// not, and silence ends with the coordinator.
extension MigrationSource {
    /// Lanes of this migration, lane 0 included.
    public var laneCount: Int { settings.lanes }

    /// Lanes the driver should open now: during pre-copy, those not opened yet.
    public var lanesToOpen: [Int] {
        guard phase == .precopy, lanes.destinationNonce != nil else { return [] }
        return (1..<laneCount).filter { !lanes.open.contains($0) }
    }

    /// The lane hello that starts lane `lane` (1…`laneCount` − 1), in clear; from here on `produce`
    /// for this lane seals with the lane's own keys when the stream is encrypted. Empty if the lane
    /// cannot be opened now (not in `lanesToOpen`).
    public mutating func openLane(_ lane: Int) -> [UInt8] {
        guard lanesToOpen.contains(lane), let destinationNonce = lanes.destinationNonce else { return [] }
        let hello = LaneHello(id: settings.migrationID, lane: UInt16(lane), sourceNonce: nonce,
                              destinationNonce: destinationNonce, key: settings.secret)
        if cipher == .aes256GCM {
            lanes.channels[lane] = SecureChannel(secret: settings.secret, id: settings.migrationID, sourceNonce: nonce,
                                                 destinationNonce: destinationNonce, role: .source, lane: lane)
        }
        lanes.open.insert(lane)
        let bytes = MigrationEncoder.encode(.laneHello(hello))
        ram.transferred += bytes.count
        lanes.wireBytes[lane, default: 0] += bytes.count
        return bytes
    }

    /// Whether `produce(lane:…)` has something for this lane now: lane 0 whenever `wantsToProduce`
    /// (pages, or the round's marker once the others are idle); another open lane while pages of the
    /// round are still to hand out.
    public func wantsToProduce(lane: Int) -> Bool {
        guard wantsToProduce else { return false }
        return lane == 0 || (lanes.open.contains(lane) && pendingPages > 0)
    }

    /// Lane `lane` (1 or more) died or stalled: before the switchover message the migration fails and
    /// the VM stays here (an abort goes out on lane 0); after it, nothing changes (lane 0 decides).
    /// Lane 0 is `connectionLost(now:)`.
    public mutating func laneLost(_ lane: Int, reason: String, now: UInt64) -> [SourceAction] {
        guard lane != 0 else { return connectionLost(now: now) }
        switch phase {
        case .setup, .precopy, .stunning:
            return fail("lane \(lane)\(laneLabel(lane).map { " (\($0))" } ?? "") to the destination \(reason) during \(phaseDescription); the VM stays on the source",
                        now: now, sendAbort: true)
        default:
            return []
        }
    }

    /// The interface lane `lane` runs over, as the driver named it.
    func laneLabel(_ lane: Int) -> String? {
        settings.laneInterfaces.isEmpty ? nil : settings.laneInterfaces[lane % settings.laneInterfaces.count]
    }

    /// Adds the lanes' figures to `result`: bytes and mean rate per lane, and per round when there
    /// are several lanes.
    func attachLanes(to result: inout MigrationResult, now: UInt64) {
        let others = lanes.wireBytes.values.reduce(0, +)
        let start = setupDoneTime ?? startTime
        let seconds = Double(elapsed(start, timeline.finalPagesAt ?? endTime ?? now)) / 1e9
        result.lanes = (0..<laneCount).map { lane in
            let bytes = lane == 0 ? ram.transferred - others : lanes.wireBytes[lane, default: 0]
            return LaneStats(lane: lane, interface: laneLabel(lane), bytes: bytes,
                             mbps: seconds > 0 ? Double(bytes) * 8 / seconds / 1e6 : 0)
        }
        guard laneCount > 1 else { return }
        for index in result.rounds.indices {
            result.rounds[index].laneBytes = lanes.roundWireBytes[UInt32(result.rounds[index].round)]
                ?? [Int](repeating: 0, count: laneCount)
        }
    }
}

/// A source's lane bookkeeping (lane 0 is the session's own connection and channel).
struct SourceLanes: Sendable {
    /// The destination's handshake nonce, from its `specAccepted` (lane hellos bind it).
    var destinationNonce: MigrationNonce?
    /// Lanes 1 and up opened with a lane hello.
    var open: Set<Int> = []
    /// The sealing channel of each lane 1 and up when the stream is encrypted.
    var channels: [Int: SecureChannel] = [:]
    /// Bytes put on lanes 1 and up (lane 0 has the rest of `ram.transferred`).
    var wireBytes: [Int: Int] = [:]
    /// Bytes each lane carried in each round (lane 0 included: its pages, marker and switchover).
    var roundWireBytes: [UInt32: [Int]] = [:]
    /// The lane `produce` is filling now, and whether every other lane's output has drained.
    var producing = 0
    var othersIdle = true

    /// The round marker (and the switchover message) may go out: on lane 0, all others drained.
    var mayEndRound: Bool { producing == 0 && othersIdle }

    mutating func count(_ bytes: Int, lane: Int, round: UInt32, lanes: Int) {
        guard lanes > 1, bytes > 0 else { return }
        roundWireBytes[round, default: [Int](repeating: 0, count: lanes)][lane] += bytes
    }
}
