import L2Wire

/// The number of a switch port, as in `p1`, `p2`.
///
/// A small integer chosen by whoever builds the switch; it prints as `p<n>` and encodes in JSON as a
/// plain number.
public struct PortID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral, Codable
{
    public let rawValue: Int

    public init(rawValue: Int) { self.rawValue = rawValue }
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public init(integerLiteral value: Int) { rawValue = value }

    public var description: String { "p\(rawValue)" }

    public static func < (lhs: PortID, rhs: PortID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(Int.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// How a port is set up: a display name (usually the TAP's name), its MTU, its admin state, how it
/// treats VLANs and its port security.
///
/// The MTU is the largest Ethernet *payload* the port accepts; a frame may be 14 bytes longer
/// (18 with an 802.1Q tag). Frames are handled without FCS.
public struct PortConfiguration: Hashable, Sendable, Codable {
    public static let defaultMTU = 1500

    public var name: String
    public var mtu: Int
    /// Admin state. A down port neither receives nor sends frames; its MAC entries stay until aging.
    public var isUp: Bool
    /// Unaware (the default), access or trunk.
    public var vlanMode: PortVLANMode
    /// A limit on the source addresses the port learns; nil: none. Refused on trunks.
    public var security: PortSecurity?

    public init(name: String, mtu: Int = PortConfiguration.defaultMTU, isUp: Bool = true, vlanMode: PortVLANMode = .unaware,
                security: PortSecurity? = nil) {
        self.name = name
        self.mtu = mtu
        self.isUp = isUp
        self.vlanMode = vlanMode
        self.security = security
    }

    enum CodingKeys: String, CodingKey {
        case name, mtu, vlan, trunk, native, security
        case isUp = "up"
    }

    /// `{"name":"p1","mtu":1500,"up":true}`, plus `"vlan":10` for an access port, `"trunk":"10:20"`
    /// (and `"native":1`) for a trunk and `"security":{…}` when set: an unaware port's JSON is as it was.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(mtu, forKey: .mtu)
        try container.encode(isUp, forKey: .isUp)
        try vlanMode.encode(to: &container, vlan: .vlan, trunk: .trunk, native: .native)
        try container.encodeIfPresent(security, forKey: .security)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        mtu = try container.decode(Int.self, forKey: .mtu)
        isUp = try container.decode(Bool.self, forKey: .isUp)
        vlanMode = try PortVLANMode(from: container, vlan: .vlan, trunk: .trunk, native: .native)
        security = try container.decodeIfPresent(PortSecurity.self, forKey: .security)
    }
}
