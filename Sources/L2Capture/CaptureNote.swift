import L2Switch
import L2Wire

/// A forwarding decision worth a comment in the capture: the ones that tell a migration's story (a
/// station move, the first unicast to a moved station's new port), unknown-unicast floods, and every
/// drop with its reason. Plain values (ports by index); the text is made only when a record is
/// written with a note, which is rare.
public enum CaptureNote: Sendable, Hashable {
    /// This frame moved `mac` from port `from` to port `to`.
    case stationMove(MACAddress, from: Int, to: Int)
    /// The first frame unicast to a moved station's new port `to`; it was on `was` until the frame
    /// numbered `movedAt` moved it.
    case unicastAfterMove(to: Int, was: Int, movedAt: UInt64)
    /// Flooded because its unicast destination is not in the table.
    case flooded(unknown: MACAddress)
    /// The switch dropped the frame on receipt.
    case dropped(DropReason)
    /// The copy for port `to` could not be sent.
    case notDelivered(to: Int, DropReason)
    /// This frame's source `mac` sits on port `stays` and was seen here on port `seen`: the
    /// hold-down refused the move.
    case moveIgnored(MACAddress, stays: Int, seen: Int)
    /// This frame's move of `mac` made it a flapper: it keeps moving between ports `from` and `to`.
    case flapping(MACAddress, from: Int, to: Int)
    /// The table was full: learning this frame's source evicted `mac` (last seen on port `from`).
    case evicted(MACAddress, from: Int)
    /// A TCP super-frame (offloads) bound for port `to`, which takes wire-sized frames only: the
    /// switch cut it into `of` segments in software, and the port took `sent` of them (the rest found
    /// its queue full).
    case segmented(to: Int, sent: Int, of: Int)
    /// A super-frame bound for port `to`, which takes wire-sized frames only, that could not be cut
    /// into them (its offload header does not describe a TCP frame the switch can segment): not sent.
    case unsegmentable(to: Int)

    /// The comment's text, naming ports by `interfaceNames` (port index order).
    public func text(interfaceNames: [String]) -> String {
        func name(_ index: Int) -> String { interfaceNames.indices.contains(index) ? interfaceNames[index] : "port \(index + 1)" }
        switch self {
        case let .stationMove(mac, from, to): return "station move \(mac) \(name(from)) → \(name(to))"
        case let .unicastAfterMove(to, was, movedAt): return "unicast to \(name(to)), was \(name(was)) until packet \(movedAt)"
        case let .flooded(mac): return "flooded: \(mac) unknown"
        case let .dropped(reason): return "dropped: \(Self.explain(reason))"
        case let .notDelivered(to, reason): return "not delivered to \(name(to)): \(Self.explain(reason))"
        case let .moveIgnored(mac, stays, seen): return "move ignored (hold-down): \(mac) stays on \(name(stays)), seen on \(name(seen))"
        case let .flapping(mac, from, to): return "flap: \(mac) keeps moving between \(name(from)) and \(name(to))"
        case let .evicted(mac, from): return "table full: learning the source evicted \(mac) (on \(name(from)))"
        case let .segmented(to, sent, total) where sent == total:
            return "sent to \(name(to)) as \(total) segment\(total == 1 ? "" : "s") (software segmentation)"
        case let .segmented(to, sent, total):
            return "sent to \(name(to)) as \(sent) of \(total) segments (software segmentation; \(total - sent) refused: queue full)"
        case let .unsegmentable(to):
            return "not delivered to \(name(to)): a super-frame for a port without offloads that could not be segmented (\(Self.explain(.badOffload)))"
        }
    }

    /// A drop reason as a reader of the capture wants it said.
    public static func explain(_ reason: DropReason) -> String {
        switch reason {
        case .runt: "runt (shorter than an Ethernet header)"
        case .oversize: "oversize (longer than the port's MTU)"
        case .badSource: "multicast source"
        case .portDown: "port down"
        case .sameSegment: "destination is on the ingress port"
        case .queueFull: "queue full"
        case .badOffload: "offload header does not fit the frame"
        case .taggedOnAccess: "802.1Q-tagged frame on an access port"
        case .vlanNotAllowed: "VLAN not allowed on the trunk"
        case .securityViolation: "port security violation (one source address too many)"
        }
    }
}

/// Up to two notes on one record (a frame can both move a station and be the first unicast to
/// another's new port); more are not kept. A fixed-size value, so a record stays plain.
public struct CaptureNotes: Sendable, Hashable {
    public private(set) var first: CaptureNote?
    public private(set) var second: CaptureNote?

    @inlinable public init() {}

    public init(_ notes: [CaptureNote]) {
        for note in notes { add(note) }
    }

    @inlinable public var isEmpty: Bool { first == nil }

    /// Adds `note` if there is room.
    public mutating func add(_ note: CaptureNote) {
        if first == nil { first = note } else if second == nil { second = note }
    }

    public var all: [CaptureNote] { [first, second].compactMap { $0 } }
}
