import L2Guest

/// Several lanes: the source's pages arrive over more than one TCP connection.
///
/// Lane 0 carries the handshake, every control message and pages; lanes 1 and up (each admitted by
/// `admitLane(_:now:)` after its authenticated lane hello) carry page batches only. TCP orders each
/// lane but not the lanes between them, so:
/// - each round's pages are counted over all lanes; a round marker on lane 0 whose pages have not all
///   arrived makes lane 0 wait (nothing after the marker on lane 0 — the next round's pages, the
///   switchover — is decoded) until the other lanes bring the rest;
/// - a lane may run ahead into later rounds (its pages count for their round);
/// - every stored page remembers the round of its copy, and a copy from an older round that arrives
///   after a newer one is dropped (it still counts for its round), so the running digest ends equal to
///   the source's.
/// A lane lost before the VM resumed here discards the migration (the VM stays on the source); after
/// that, it changes nothing.
extension MigrationDestination {
    /// Why a lane hello was refused. A refusal leaves the migration as it was: a lane nobody could
    /// open (a forgery, a replay, a lane of another migration) cannot disturb it.
    public enum LaneAdmission: Sendable, Equatable {
        case admitted
        case refused(String)
    }

    /// Rounds a lane may run ahead of the round lane 0 is in (more is a broken or hostile stream).
    static let laneRoundWindow: UInt32 = 1024

    /// True while lane 0 waits at a round marker for pages still on other lanes.
    public var waitsForLanes: Bool { lanes.pendingMarker != nil }

    /// A connection opened with `hello`: admitted as lane `hello.lane` if it is this migration's, the
    /// lane exists (below the coordinator's lane count), is not open yet, pre-copy runs, and the code
    /// proves the key and this handshake's nonces. Then `receive(bytes:lane:now:)` takes what follows
    /// the hello on that connection.
    public mutating func admitLane(_ hello: LaneHello, now: UInt64) -> LaneAdmission {
        let lane = Int(hello.lane)
        guard hello.id == settings.migrationID else {
            return .refused("lane hello for migration \(hello.id), but this destination receives migration \(settings.migrationID)")
        }
        guard lane >= 1, lane < settings.lanes else {
            return .refused("lane \(lane) does not exist: migration \(settings.migrationID) has \(settings.lanes) lane\(settings.lanes == 1 ? "" : "s") (0…\(settings.lanes - 1)), lane 0 being the first connection")
        }
        guard phase == .receiving, let sourceNonce, let memory else {
            return .refused("lane \(lane) opened while the destination is \(phase.rawValue); lanes open during pre-copy")
        }
        guard lanes.receivers[lane] == nil else {
            return .refused("lane \(lane) is already open")
        }
        guard hello.isValid(sourceNonce: sourceNonce, destinationNonce: nonce, key: settings.secret) else {
            return .refused("authentication failed: lane \(lane)'s hello was not made with this migration's key and handshake")
        }
        var receiver = LaneReceiver(decoder: MigrationDecoder(pageCount: memory.pageCount))
        if cipher == .aes256GCM {
            receiver.channel = SecureChannel(secret: settings.secret, id: settings.migrationID, sourceNonce: sourceNonce,
                                             destinationNonce: nonce, role: .destination, lane: lane)
        }
        lanes.receivers[lane] = receiver
        lastActivity = now
        return .admitted
    }

    /// Bytes from lane `lane`: lane 0 is `receive(bytes:now:)`; an admitted lane's are page batches
    /// (sealed records when encrypted). Anything else on a lane, or a batch of a round that is over or
    /// too far ahead, is a protocol failure.
    public mutating func receive(bytes: some Collection<UInt8>, lane: Int, now: UInt64) -> [DestinationAction] {
        guard lane != 0 else { return receive(bytes: bytes, now: now) }
        guard phase != .discarded && phase != .awaitingCoordinator, lanes.receivers[lane] != nil else { return [] }
        lastActivity = now
        report.bytesReceived += bytes.count
        // In place: a copy of the receiver out of the dictionary would copy its buffers on every read.
        let channelError = lanes.receivers[lane]!.take(bytes)
        var actions: [DestinationAction] = []
        while phase != .discarded && phase != .awaitingCoordinator {
            let message: MigrationMessage
            do {
                guard let next = try lanes.receivers[lane]!.decoder.next() else { break }
                message = next
            } catch {
                actions += protocolFailure(error)
                break
            }
            actions += handle(message, lane: lane, now: now)
        }
        if let channelError, phase != .discarded && phase != .awaitingCoordinator {
            actions += protocolFailure(.secureChannel(channelError))
        }
        return actions
    }

    /// Lane `lane` closed or failed: before the VM resumed here the migration is discarded (the abort
    /// goes out on lane 0); after it, nothing changes. Lane 0 is `connectionLost(now:)`.
    public mutating func laneLost(_ lane: Int, now: UInt64) -> [DestinationAction] {
        guard lane != 0 else { return connectionLost(now: now) }
        switch phase {
        case .awaitingHello, .awaitingSpec, .allocating, .receiving:
            let reason = "lane \(lane) from the source was lost before the VM resumed here"
            return send(.abort(reason: reason)) + discard(reason)
        default:
            return []
        }
    }

    /// Bytes received on each lane so far, lane 0 first.
    public var laneBytesReceived: [Int] {
        let others = lanes.receivers.values.reduce(0) { $0 + $1.bytesReceived }
        return [report.bytesReceived - others] + (1..<max(settings.lanes, 1)).map { lanes.receivers[$0]?.bytesReceived ?? 0 }
    }

    // MARK: - Internals

    private mutating func handle(_ message: MigrationMessage, lane: Int, now: UInt64) -> [DestinationAction] {
        guard phase == .receiving, case let .pageBatch(batch) = message else {
            // After the switchover nothing more may come on a lane; before it, only pages.
            return protocolFailure(.unexpectedMessage(message.type, phase: "on lane \(lane), which carries page batches during pre-copy only (the destination is \(phase.rawValue))"))
        }
        guard batch.round >= expectedRound, batch.round - expectedRound < Self.laneRoundWindow else {
            return protocolFailure(.inconsistent("lane \(lane) sent a page batch for round \(batch.round) while receiving round \(expectedRound)"))
        }
        apply(batch)
        return resumeLaneZeroIfComplete(now: now)
    }

    /// Lane 0 waited at a marker: once its round's pages are all here, the marker is checked and lane 0
    /// decodes on (the next rounds' pages, markers, the switchover).
    private mutating func resumeLaneZeroIfComplete(now: UInt64) -> [DestinationAction] {
        guard let marker = lanes.pendingMarker, UInt64(roundPages) >= marker.pages else { return [] }
        lanes.pendingMarker = nil
        let actions = endRound(marker.round, pages: marker.pages, bytes: marker.bytes)
        guard phase == .receiving else { return actions }
        return actions + decodeReceived(now: now)
    }

    /// With several lanes, a marker for the current round whose pages have not all arrived waits for
    /// them (returns true and keeps it); with one lane, or once they are in, it is checked at once.
    mutating func markerWaitsForLanes(_ round: UInt32, pages: UInt64, bytes: UInt64) -> Bool {
        guard settings.lanes > 1, round == expectedRound, UInt64(roundPages) < pages else { return false }
        lanes.pendingMarker = PendingMarker(round: round, pages: pages, bytes: bytes)
        return true
    }

    /// The round after a completed one starts with what the lanes already brought for it.
    mutating func takeAheadTally() {
        guard let tally = lanes.ahead.removeValue(forKey: expectedRound) else { return }
        roundPages = tally.pages
        roundBytes = tally.bytes
    }

    /// Stores a batch that may have arrived out of round order: a page is written only if its stored
    /// copy is of this round or an older one. Its pages count for its own round.
    mutating func applyAcrossLanes(_ batch: PageBatch, memory: GuestMemory) {
        if lanes.storedRound.count != memory.pageCount {
            lanes.storedRound = [UInt32](repeating: 0, count: memory.pageCount)
        }
        let round = batch.round
        var normal = 0
        var running = runningDigest
        receivedHashes.withUnsafeMutableBufferPointer { hashes in
            storedPages.withUnsafeMutableBufferPointer { stored in
                lanes.storedRound.withUnsafeMutableBufferPointer { rounds in
                    batch.forEachRecord { record in
                        switch record {
                        case let .page(index, contents):
                            normal += 1
                            guard rounds[index] <= round else { return }
                            rounds[index] = round
                            memory.storePage(index, from: contents)
                            let hash = memory.pageHash(index)
                            stored[index >> 6] |= UInt64(1) << UInt64(index & 63)
                            running.replace(page: index, old: hashes[index], new: hash)
                            hashes[index] = hash
                        case let .zero(pages):
                            Self.zero(pages, round: round, stored: stored, rounds: rounds, hashes: hashes,
                                      running: &running, memory: memory)
                        }
                    }
                }
            }
        }
        runningDigest = running
        let bytes = MigrationWire.headerLength + MigrationWire.pageBatchPrefixLength + batch.records.count
        if round == expectedRound {
            roundPages += batch.pageCount
            roundBytes += bytes
        } else {
            lanes.ahead[round, default: RoundTally()].add(pages: batch.pageCount, bytes: bytes)
        }
        report.pagesReceived += batch.pageCount
        report.normalPages += normal
        report.zeroPages += batch.pageCount - normal
    }

    /// Zero pages of `round`: each stored page whose copy is not newer is cleared. A page not stored is
    /// zero already; its round is raised all the same (after round 1), so an older copy arriving later
    /// is dropped. Round 1 is the oldest, so its zero ranges (the long ones) cost one look per 64 pages.
    private static func zero(_ pages: Range<Int>, round: UInt32, stored: UnsafeMutableBufferPointer<UInt64>,
                             rounds: UnsafeMutableBufferPointer<UInt32>, hashes: UnsafeMutableBufferPointer<UInt64>,
                             running: inout PageHash.Running, memory: GuestMemory) {
        var word = pages.lowerBound >> 6
        while word << 6 < pages.upperBound {
            let first = max(pages.lowerBound, word << 6) - (word << 6)
            let last = min(pages.upperBound, (word + 1) << 6) - (word << 6)
            let mask = (last == 64 ? UInt64.max : (UInt64(1) << UInt64(last)) - 1) & ~((UInt64(1) << UInt64(first)) - 1)
            (stored[word] & mask).forEachSetBit { bit in
                let index = word << 6 + bit
                guard rounds[index] <= round else { return }
                stored[word] &= ~(UInt64(1) << UInt64(bit))
                memory.zeroPage(index)
                running.replace(page: index, old: hashes[index], new: PageHash.zeroPage)
                hashes[index] = PageHash.zeroPage
            }
            word += 1
        }
        guard round > 1 else { return }
        for index in pages where rounds[index] < round { rounds[index] = round }
    }
}

/// A destination's lane bookkeeping (lane 0 is the session's own connection and decoder).
struct DestinationLanes: Sendable {
    /// Admitted lanes 1 and up.
    var receivers: [Int: LaneReceiver] = [:]
    /// The marker lane 0 waits at.
    var pendingMarker: PendingMarker?
    /// Pages and bytes that arrived for rounds after the current one.
    var ahead: [UInt32: RoundTally] = [:]
    /// Per page: the round of the stored copy (0: none yet). Only with several lanes.
    var storedRound: [UInt32] = []
}

/// What one lane brought in so far, decoded through its own channel.
struct LaneReceiver: Sendable {
    var decoder: MigrationDecoder
    var channel: SecureChannel?
    var opened: [UInt8] = []
    var bytesReceived = 0

    /// Received bytes into the decoder, opened through the lane's channel when encrypted.
    mutating func take(_ bytes: some Collection<UInt8>) -> SecureChannelError? {
        bytesReceived += bytes.count
        return decoder.append(bytes, through: &channel, scratch: &opened)
    }
}

/// A round marker lane 0 received before all of its round's pages.
struct PendingMarker: Sendable, Equatable {
    var round: UInt32
    var pages: UInt64
    var bytes: UInt64
}

/// Pages and bytes of one round received so far.
struct RoundTally: Sendable, Equatable {
    var pages = 0
    var bytes = 0

    mutating func add(pages: Int, bytes: Int) {
        self.pages += pages
        self.bytes += bytes
    }
}
