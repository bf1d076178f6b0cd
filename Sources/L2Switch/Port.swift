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

/// How a port is set up: a display name (usually the TAP's name), its MTU and its admin state.
///
/// The MTU is the largest Ethernet *payload* the port accepts; a frame may be 14 bytes longer
/// (18 with an 802.1Q tag). Frames are handled without FCS.
public struct PortConfiguration: Hashable, Sendable, Codable {
    public static let defaultMTU = 1500

    public var name: String
    public var mtu: Int
    /// Admin state. A down port neither receives nor sends frames; its MAC entries stay until aging.
    public var isUp: Bool

    public init(name: String, mtu: Int = PortConfiguration.defaultMTU, isUp: Bool = true) {
        self.name = name
        self.mtu = mtu
        self.isUp = isUp
    }

    enum CodingKeys: String, CodingKey {
        case name, mtu
        case isUp = "up"
    }
}
