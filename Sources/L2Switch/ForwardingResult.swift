import L2Wire

/// Where a received frame goes.
public enum ForwardingDecision: Hashable, Sendable, CustomStringConvertible {
    /// Deliver nowhere; the reason is already counted on the ingress port.
    case drop(DropReason)
    /// Deliver to this one port.
    case unicast(PortID)
    /// Deliver to every up port of the frame's VLAN except the ingress port
    /// (`SwitchCore.floodTargets(for:from:)`).
    case flood

    public var description: String {
        switch self {
        case let .drop(reason): "drop (\(reason))"
        case let .unicast(port): "to \(port)"
        case .flood: "flood"
        }
    }
}

/// The switch's answer for one frame: the decision, the VLAN it was in, how a unicast copy is
/// encoded, and the learning event it caused, if any (already appended to the event log).
public struct ForwardingResult: Hashable, Sendable {
    public var decision: ForwardingDecision
    public var event: SwitchEvent?
    /// The entry the table dropped to learn this frame's source (the table was full).
    public var evicted: MACTableEntry?
    /// For the first unicast to a station since it moved: the port it was on and the frame that
    /// moved it (what a capture comment says next to the frame).
    public var followsMove: FollowedMove?
    /// The VLAN the frame was classified into; 0 on VLAN-unaware ports.
    public var vlan: UInt16
    /// The frame arrived with an 802.1Q tag.
    public var taggedOnIngress: Bool
    /// The Ethernet payload of the largest wire frame it stands for (a super-frame's segment), for
    /// the egress ports' MTUs.
    public var payloadLength: Int
    /// What to do to the frame before writing it to the `.unicast` port.
    public var egress: EgressEncoding
    /// The move in `event` also made the station a flapper: a `flap` event follows it in the log.
    public var flapped: Bool

    public init(decision: ForwardingDecision, event: SwitchEvent? = nil, evicted: MACTableEntry? = nil, followsMove: FollowedMove? = nil,
                vlan: UInt16 = 0, taggedOnIngress: Bool = false, payloadLength: Int = 0, egress: EgressEncoding = .keep,
                flapped: Bool = false) {
        self.decision = decision
        self.event = event
        self.evicted = evicted
        self.followsMove = followsMove
        self.vlan = vlan
        self.taggedOnIngress = taggedOnIngress
        self.payloadLength = payloadLength
        self.egress = egress
        self.flapped = flapped
    }
}

/// Where a moved station was before its move, and the frame that moved it.
public struct FollowedMove: Hashable, Sendable {
    public var was: PortID
    public var movedAt: UInt64

    public init(was: PortID, movedAt: UInt64) {
        self.was = was
        self.movedAt = movedAt
    }
}

/// A port configuration request the switch cannot carry out, with what to do instead.
public enum SwitchError: Error, Hashable, Sendable, CustomStringConvertible {
    case unknownPort(PortID, known: [PortID])
    case duplicatePort(PortID, existingName: String)
    case invalidMTU(port: PortID, mtu: Int)
    case invalidVLAN(port: PortID, vlan: Int)
    case emptyTrunk(port: PortID)
    case securityOnTrunk(port: PortID)
    case invalidSecurityLimit(port: PortID, maximum: Int)

    public var description: String {
        switch self {
        case let .unknownPort(port, known):
            "port \(port) does not exist on this switch (it has: \(known.map(\.description).joined(separator: ", ")))"
        case let .duplicatePort(port, name):
            "port \(port) already exists (named \"\(name)\"); choose another port number"
        case let .invalidMTU(port, mtu):
            "port \(port): MTU \(mtu) is out of range; use 68...65535"
        case let .invalidVLAN(port, vlan):
            "port \(port): VLAN \(vlan) is out of range; use 1...4094"
        case let .emptyTrunk(port):
            "port \(port): a trunk needs at least one allowed VLAN or a native VLAN"
        case let .securityOnTrunk(port):
            "port \(port): port security would stop vMotion on a host's trunk; put it on access ports only"
        case let .invalidSecurityLimit(port, maximum):
            "port \(port): a limit of \(maximum) MACs is out of range; use \(PortSecurity.maximumMACRange.lowerBound)...\(PortSecurity.maximumMACRange.upperBound)"
        }
    }
}
