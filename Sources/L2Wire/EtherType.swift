/// The 16-bit EtherType of an Ethernet II frame; an open set, so unknown values still work.
public struct EtherType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let ipv4 = EtherType(rawValue: 0x0800)
    public static let arp = EtherType(rawValue: 0x0806)
    public static let rarp = EtherType(rawValue: 0x8035)
    public static let vlan = EtherType(rawValue: 0x8100)
    public static let ipv6 = EtherType(rawValue: 0x86DD)
    /// IEEE 802 "Local Experimental EtherType 1", free for a lab's own frames (`l2motion vm send-as`).
    public static let localExperimental1 = EtherType(rawValue: 0x88B5)

    public var description: String {
        switch self {
        case .ipv4: "IPv4"
        case .arp: "ARP"
        case .rarp: "RARP"
        case .vlan: "802.1Q"
        case .ipv6: "IPv6"
        default: "0x" + String(rawValue, radix: 16)
        }
    }
}
