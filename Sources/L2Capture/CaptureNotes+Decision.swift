import L2Switch
import L2Wire

extension CaptureNotes {
    /// The notes a switch decision earns (port indices are `PortID` values minus one): a station
    /// move (and a flap it completes), a move the hold-down refused, a table eviction, the first unicast to a moved station, an unknown-unicast flood, a
    /// drop. Learning a new station and flooding a broadcast or multicast earn none.
    public init(_ result: ForwardingResult, ingress: Int, destination: MACAddress) {
        self.init()
        if let event = result.event, let old = event.oldPort {
            switch event.kind {
            case .moved:
                add(.stationMove(event.mac, from: old.rawValue - 1, to: event.newPort.rawValue - 1))
                if result.flapped { add(.flapping(event.mac, from: old.rawValue - 1, to: event.newPort.rawValue - 1)) }
            case .moveIgnored:
                add(.moveIgnored(event.mac, stays: old.rawValue - 1, seen: event.newPort.rawValue - 1))
            case .learned, .flap, .securityViolation:
                break
            }
        }
        if let evicted = result.evicted { add(.evicted(evicted.mac, from: evicted.port.rawValue - 1)) }
        switch result.decision {
        case let .drop(reason):
            add(.dropped(reason))
        case let .unicast(egress):
            if let move = result.followsMove {
                add(.unicastAfterMove(to: egress.rawValue - 1, was: move.was.rawValue - 1, movedAt: move.movedAt))
            }
        case .flood:
            if !destination.isMulticast { add(.flooded(unknown: destination)) }
        }
    }

    /// Whether `result` earns any note: checked per frame before building them.
    @inline(__always)
    public static func worthNoting(_ result: ForwardingResult, destinationIsMulticast: Bool) -> Bool {
        if let kind = result.event?.kind, kind == .moved || kind == .moveIgnored { return true }
        if result.evicted != nil || result.followsMove != nil { return true }
        switch result.decision {
        case .drop: return true
        case .unicast: return false
        case .flood: return !destinationIsMulticast
        }
    }
}
