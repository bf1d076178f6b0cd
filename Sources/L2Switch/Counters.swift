/// Why the switch did not deliver a frame (or one copy of it).
///
/// Raw values are the snake_case names used in JSON and in printed reports.
public enum DropReason: String, CaseIterable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// Shorter than an Ethernet header (14 bytes), or than a tagged one (18) when the EtherType is 802.1Q.
    case runt
    /// Longer than the ingress port's MTU plus the 14-byte header (plus 4 for an 802.1Q tag).
    case oversize
    /// Multicast, broadcast or all-zero source MAC.
    case badSource = "bad_source"
    /// The ingress port, or the egress port of a known unicast, is administratively down.
    case portDown = "port_down"
    /// Known unicast whose destination sits on the ingress port: filtered, as a bridge does.
    case sameSegment = "same_segment"
    /// The caller could not write the frame to the egress port (e.g. the TAP queue was full).
    case queueFull = "queue_full"
    /// A TAP's virtio-net header that does not fit its frame (an unknown segmentation type, a
    /// checksum position outside the frame, a super-frame without a segment size).
    case badOffload = "bad_offload"

    public var description: String { rawValue }
}

/// Frame counts per drop reason.
public struct DropCounters: Hashable, Sendable, Codable {
    public var runt: UInt64 = 0
    public var oversize: UInt64 = 0
    public var badSource: UInt64 = 0
    public var portDown: UInt64 = 0
    public var sameSegment: UInt64 = 0
    public var queueFull: UInt64 = 0
    public var badOffload: UInt64 = 0

    public init() {}

    public subscript(reason: DropReason) -> UInt64 {
        get {
            switch reason {
            case .runt: runt
            case .oversize: oversize
            case .badSource: badSource
            case .portDown: portDown
            case .sameSegment: sameSegment
            case .queueFull: queueFull
            case .badOffload: badOffload
            }
        }
        set {
            switch reason {
            case .runt: runt = newValue
            case .oversize: oversize = newValue
            case .badSource: badSource = newValue
            case .portDown: portDown = newValue
            case .sameSegment: sameSegment = newValue
            case .queueFull: queueFull = newValue
            case .badOffload: badOffload = newValue
            }
        }
    }

    public var total: UInt64 { runt + oversize + badSource + portDown + sameSegment + queueFull + badOffload }

    enum CodingKeys: String, CodingKey {
        case runt, oversize
        case badSource = "bad_source"
        case portDown = "port_down"
        case sameSegment = "same_segment"
        case queueFull = "queue_full"
        case badOffload = "bad_offload"
    }
}

/// What one port saw and sent.
///
/// Every received frame has exactly one fate, so `rxFrames == unicastFrames + floodedFrames +
/// rxDrops.total` always holds. On the sending side, every copy the caller tried to write is either
/// `txFrames` or a `txDrops` entry (reported by the caller with `recordTransmit` / `recordDrop`).
public struct PortCounters: Hashable, Sendable {
    public var rxFrames: UInt64 = 0
    public var rxBytes: UInt64 = 0
    /// Received frames forwarded to one known port.
    public var unicastFrames: UInt64 = 0
    /// Received frames flooded (broadcast, multicast, unknown unicast).
    public var floodedFrames: UInt64 = 0
    /// Received frames dropped, by reason.
    public var rxDrops = DropCounters()
    public var txFrames: UInt64 = 0
    public var txBytes: UInt64 = 0
    /// Copies for this port that the caller could not write, by reason.
    public var txDrops = DropCounters()

    public init() {}

    /// Received frames whose fate is counted; equals `rxFrames` by construction.
    public var rxAccounted: UInt64 { unicastFrames + floodedFrames + rxDrops.total }
}
