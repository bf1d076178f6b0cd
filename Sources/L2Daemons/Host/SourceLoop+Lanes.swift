import L2Control
import L2Edge
import L2Migration
import L2Wire

/// The source loop with several lanes (`--streams N`): it opens lanes 1…N−1 once pre-copy starts,
/// hands each lane whose output drained the next chunk of the round, and serves every lane in one
/// poll. Lane 0 stays the pump `PumpSetup` picked (a fault plan still acts on it); the extra lanes
/// are plain `StreamPump`s. With one stream none of this does anything.
extension SourceLoop {
    /// Bytes of pages each lane takes at a time during pre-copy (the final round takes smaller pieces).
    static let laneChunkBytes = 1 << 20

    /// The path lane `lane` takes: the request's paths in turn (Multi-NIC vMotion), else vmk1 to the
    /// destination's listener.
    func path(of lane: Int) -> VMotionPath {
        let request = driver.request
        guard !request.paths.isEmpty else {
            return VMotionPath(interface: driver.host.settings.vmkernel, destination: IPv4Address(rawValue: request.destinationIP))
        }
        return request.paths[lane % request.paths.count]
    }

    /// Connects the lanes the state machine wants opened and queues each one's lane hello. A lane
    /// that cannot connect fails the migration (nothing has moved yet that the VM could miss).
    mutating func openLanes(_ lanes: inout LaneSet) -> [SourceAction] {
        var actions: [SourceAction] = []
        for lane in source.lanesToOpen {
            let path = path(of: lane)
            let settings = driver.host.settings
            guard let local = settings.vmotionNICs.first(where: { $0.interface == path.interface }) else {
                actions += source.laneLost(lane, reason: "could not be opened: no vMotion interface \(path.interface) here", now: SystemClock.wallNanoseconds())
                break
            }
            do {
                let connection = try TCPSocket.connect(from: local.address.rawValue, to: path.destination.rawValue,
                                                       port: driver.request.destinationPort, timeoutMilliseconds: 5000,
                                                       sendBuffer: 1 << 20)
                var pump = StreamPump(connection: connection)
                pump.enqueue(source.openLane(lane))
                lanes.add(lane, pump: pump, interface: path.interface)
                driver.host.logger.debug("migration \(driver.id): lane \(lane) open from \(path.interface) \(local.address) to \(path.destination)")
            } catch {
                actions += source.laneLost(lane, reason: "could not be opened from \(path.interface) \(local.address) to \(path.destination):\(driver.request.destinationPort): \(error)",
                                           now: SystemClock.wallNanoseconds())
                break
            }
        }
        return actions
    }

    /// Gives every lane whose output drained the next chunk of the round: the extra lanes first, then
    /// lane 0, told whether the others are idle (only then may it carry the round marker).
    /// Post-copy: at most this many bytes on the wire and queued at once.
    static let postcopyInFlightBytes = 256 * 1024

    mutating func produceOnLanes<Pump: MigrationPump>(_ pump: inout Pump, _ lanes: inout LaneSet, now: UInt64) -> [SourceAction] {
        var actions: [SourceAction] = []
        guard !lanes.isEmpty else {
            pump.refill { buffer in actions += source.produce(into: &buffer, budget: Self.laneChunkBytes, now: now) }
            return actions
        }
        for lane in lanes.indices where lanes.isDrained(lane) && source.wantsToProduce(lane: lane) {
            lanes.refill(lane) { buffer in
                actions += source.produce(lane: lane, into: &buffer, budget: Self.laneChunkBytes, othersIdle: false, now: now)
            }
        }
        let othersIdle = lanes.allDrained
        pump.refill { buffer in
            actions += source.produce(lane: 0, into: &buffer, budget: Self.laneChunkBytes, othersIdle: othersIdle, now: now)
        }
        return actions
    }

    /// One poll over every lane: lane 0's events come back for the loop's usual handling; what the
    /// other lanes report goes to the state machine here (a lane closed, or sent something: the
    /// destination's refusal, or bytes it never sends on a lane).
    mutating func turnLanes<Pump: MigrationPump>(_ pump: inout Pump, _ lanes: inout LaneSet,
                                                 timeoutMilliseconds: Int32) -> (lane0: [PumpEvent], actions: [SourceAction]) {
        guard !lanes.isEmpty else { return (pump.turn(timeoutMilliseconds: timeoutMilliseconds), []) }
        var events: [PumpEvent] = []
        var said: [Int: [UInt8]] = [:]
        let closed = lanes.turn(lane0: &pump, timeoutMilliseconds: timeoutMilliseconds) { lane, bytes in
            if lane == 0 { events.append(.received(Array(bytes)[...])) } else { said[lane, default: []] += bytes }
        }
        var actions: [SourceAction] = []
        for (lane, bytes) in said.sorted(by: { $0.key < $1.key }) {
            let interface = lanes.lanes[lane]?.interface ?? "?"
            var decoder = MigrationDecoder()
            decoder.append(bytes)
            let reason: String
            if case let .abort(text)? = try? decoder.next() {
                reason = "was refused by the destination (\(text))"
            } else {
                reason = "carried \(bytes.count) bytes from the destination, which sends nothing on a lane"
            }
            driver.host.logger.warning("migration \(driver.id): lane \(lane) (\(interface)) \(reason)")
            lanes.abort(lane)
            actions += source.laneLost(lane, reason: reason, now: SystemClock.wallNanoseconds())
        }
        for (lane, reason) in closed {
            if lane == 0 {
                events.append(.closed(reason))
            } else {
                actions += source.laneLost(lane, reason: "was lost (\(reason))", now: SystemClock.wallNanoseconds())
            }
        }
        return (events, actions)
    }

    /// Before the stun, as `drain` does for lane 0: waits (at most 2 s) until every extra lane's bytes
    /// are written and nearly all acknowledged, so the final round's pieces on a lane do not queue
    /// behind pre-copy bytes still in its socket. What lane 0 says meanwhile goes to the state machine.
    mutating func drainLanes<Pump: MigrationPump>(_ pump: inout Pump, _ lanes: inout LaneSet) -> [SourceAction] {
        guard !lanes.isEmpty else { return [] }
        let deadline = SystemClock.monotonicNanoseconds() + 2_000_000_000
        var actions: [SourceAction] = []
        while !lanes.allAcknowledged && SystemClock.monotonicNanoseconds() < deadline && source.phase == .stunning {
            let (events, laneActions) = turnLanes(&pump, &lanes, timeoutMilliseconds: 1)
            actions += handle(events, &pump) + laneActions
        }
        return actions
    }

    /// Extra lanes that accepted no bytes for the stall timeout are given up: before the switchover
    /// the migration fails; after it lane 0 decides.
    mutating func checkStalledLanes(_ lanes: inout LaneSet) -> [SourceAction] {
        guard !lanes.isEmpty else { return [] }  // (one stream: no clock read per turn)
        var actions: [SourceAction] = []
        let timeout = driver.request.stallTimeoutNanoseconds
        for lane in lanes.stalled(after: timeout) {
            driver.host.logger.warning("migration \(driver.id): lane \(lane) accepted no bytes for \(timeout / 1_000_000_000) s; giving up on it")
            lanes.abort(lane)
            actions += source.laneLost(lane, reason: "accepted no bytes for \(Double(timeout) / 1e9) s (stalled)",
                                       now: SystemClock.wallNanoseconds())
        }
        return actions
    }
}
