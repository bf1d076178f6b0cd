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
    /// An 802.1Q-tagged frame on an access port (which takes untagged frames only).
    case taggedOnAccess = "tagged_on_access"
    /// A trunk's frame tagged with a VLAN it does not allow, or untagged on a trunk without a native VLAN.
    case vlanNotAllowed = "vlan_not_allowed"
    /// A frame from one source address more than the port's security allows.
    case securityViolation = "security_violation"

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
    public var taggedOnAccess: UInt64 = 0
    public var vlanNotAllowed: UInt64 = 0
    public var securityViolation: UInt64 = 0

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
            case .taggedOnAccess: taggedOnAccess
            case .vlanNotAllowed: vlanNotAllowed
            case .securityViolation: securityViolation
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
            case .taggedOnAccess: taggedOnAccess = newValue
            case .vlanNotAllowed: vlanNotAllowed = newValue
            case .securityViolation: securityViolation = newValue
            }
        }
    }

    public var total: UInt64 {
        runt + oversize + badSource + portDown + sameSegment + queueFull + badOffload + taggedOnAccess + vlanNotAllowed
            + securityViolation
    }

    enum CodingKeys: String, CodingKey {
        case runt, oversize
        case badSource = "bad_source"
        case portDown = "port_down"
        case sameSegment = "same_segment"
        case queueFull = "queue_full"
        case badOffload = "bad_offload"
        case taggedOnAccess = "tagged_on_access"
        case vlanNotAllowed = "vlan_not_allowed"
        case securityViolation = "security_violation"
    }

    /// Every reason present is read; one a switch from before it existed did not send counts 0.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        for reason in DropReason.allCases {
            self[reason] = try container.decodeIfPresent(UInt64.self, forKey: CodingKeys(rawValue: reason.rawValue)!) ?? 0
        }
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
    /// Frames whose source had moved here but whose move the hold-down refused (they were still
    /// forwarded; the station stayed on its port).
    public var movesIgnored: UInt64 = 0

    public init() {}

    /// Received frames whose fate is counted; equals `rxFrames` by construction.
    public var rxAccounted: UInt64 { unicastFrames + floodedFrames + rxDrops.total }
}

/// What one VLAN carried: frames admitted into it at ingress (after the VLAN checks), their bytes,
/// and how many of them were flooded.
public struct VLANCounters: Hashable, Sendable {
    public var frames: UInt64 = 0
    public var bytes: UInt64 = 0
    public var floods: UInt64 = 0

    public init(frames: UInt64 = 0, bytes: UInt64 = 0, floods: UInt64 = 0) {
        self.frames = frames
        self.bytes = bytes
        self.floods = floods
    }
}
