/// An IPv6 address with a prefix length, as in `fd00:10:10::10/64`. Codable as that string.
public struct IPv6Interface: Hashable, Sendable, CustomStringConvertible, Codable {
    public let address: IPv6Address
    /// 0...128.
    public let prefixLength: Int

    public init(address: IPv6Address, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses `address/n` with n in 0...128; nil otherwise (the prefix is required).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv6Address(String(parts[0])), parts[1].allSatisfy(\.isASCII),
              parts[1].count <= 3, let length = Int(parts[1]), (0...128).contains(length) else { return nil }
        self.init(address: address, prefixLength: length)
    }

    /// The link-local interface (`fe80::…/64`) a NIC with `mac` forms by itself (EUI-64).
    public static func linkLocal(eui64 mac: MACAddress) -> IPv6Interface {
        IPv6Interface(address: .linkLocal(eui64: mac), prefixLength: 64)
    }

    /// The lab's default unique local address for an IPv4 address: `a.b.c.d` → `fd00:a:b:c::d/64`,
    /// each octet's decimal digits written as a hex group, so the IPv6 address reads like the IPv4
    /// one: 10.10.0.10 → `fd00:10:10::10/64`, 10.10.0.100 → `fd00:10:10::100/64`, 192.168.1.254 →
    /// `fd00:192:168:1::254/64`. Addresses of one IPv4 /24 share one /64. `fd00::/8` is the locally
    /// assigned half of RFC 4193's ULA block; the lab uses global ID 0 and does not pretend otherwise.
    public static func defaultULA(for ipv4: IPv4Address) -> IPv6Interface {
        // A decimal octet has at most three digits, each 0...9, so its digits always form a valid hex group.
        let groups = ipv4.bytes.map { UInt16(String($0), radix: 16) ?? 0 }
        return IPv6Interface(address: IPv6Address(groups: [0xfd00, groups[0], groups[1], groups[2], 0, 0, 0, groups[3]]),
                             prefixLength: 64)
    }

    /// The prefix's mask as (high, low) halves.
    private var mask: (UInt64, UInt64) {
        let length = UInt64(prefixLength)
        let high: UInt64 = length == 0 ? 0 : (length >= 64 ? .max : .max << (64 - length))
        let low: UInt64 = length <= 64 ? 0 : (length == 128 ? .max : .max << (128 - length))
        return (high, low)
    }

    /// True when `other` is in this interface's prefix.
    public func contains(_ other: IPv6Address) -> Bool {
        let (high, low) = mask
        return other.high & high == address.high & high && other.low & low == address.low & low
    }

    public var description: String { "\(address)/\(prefixLength)" }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = IPv6Interface(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "\"\(text)\" is not an IPv6 address with prefix; write it like fd00:10:10::10/64"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
