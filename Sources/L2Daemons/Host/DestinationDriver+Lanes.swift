import L2Edge
import L2Migration

/// An incoming migration over several lanes: the lanes its source opens reach this host's listeners
/// on their own connections (`DestinationDriver.run` reads their lane hello and hands them over
/// through the session's `LaneInbox`); the session's thread admits them and serves them with lane 0
/// in one poll (`LaneSet`).
extension DestinationDriver.Session {
    /// Admits or refuses the lanes handed over since the last turn; an admitted lane's first bytes
    /// go to the state machine at once.
    func adopt(_ offers: [OfferedLane], into lanes: inout LaneSet) -> [DestinationAction] {
        var actions: [DestinationAction] = []
        for offer in offers {
            let lane = Int(offer.hello.lane)
            switch destination.admitLane(offer.hello, now: SystemClock.wallNanoseconds()) {
            case .admitted:
                lanes.add(lane, pump: StreamPump(connection: offer.connection), interface: TCPSocket.ipText(offer.peer))
                host.logger.debug("migration \(id): lane \(lane) admitted from \(TCPSocket.ipText(offer.peer))")
                actions += destination.receive(bytes: offer.rest, lane: lane, now: SystemClock.wallNanoseconds())
            case let .refused(reason):
                host.logger.warning("migration \(id): refused a lane from \(TCPSocket.ipText(offer.peer)): \(reason)")
                DestinationDriver.refuse(offer, reason: reason)
            }
        }
        return actions
    }

    /// One poll over lane 0 and the admitted lanes; every read goes to the state machine before the
    /// next reuses its pump's buffer. A lane that closed is reported (lane 0 as the connection lost).
    func turn(_ pump: inout StreamPump, _ lanes: inout LaneSet, timeoutMilliseconds: Int32) -> [DestinationAction] {
        var actions: [DestinationAction] = []
        let closed = lanes.turn(lane0: &pump, timeoutMilliseconds: timeoutMilliseconds) { lane, bytes in
            actions += destination.receive(bytes: bytes, lane: lane, now: SystemClock.wallNanoseconds())
        }
        for (lane, reason) in closed {
            if lane != 0 { host.logger.debug("migration \(id): lane \(lane) closed: \(reason)") }
            actions += destination.laneLost(lane, now: SystemClock.wallNanoseconds())
        }
        return actions
    }

    /// The session ends: its lanes close, and lanes that arrive from now on are refused.
    func closeLanes(_ lanes: inout LaneSet) {
        for offer in service.closeLanes(for: id) {
            DestinationDriver.refuse(offer, reason: "migration \(id) ended on \(host.settings.name)")
        }
        lanes.closeAll()
    }
}
