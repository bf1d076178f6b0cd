/// An IPv4 address as a 32-bit value in host order; prints dotted-quad.
public struct IPv4Address: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses `10.10.0.10`; nil unless four decimal octets.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let octet = UInt8(part) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        rawValue = value
    }

    /// Reads four bytes (network order) starting at `index`; the caller has checked the bounds.
    @inlinable
    public init<C: Collection>(bytes: C, at index: C.Index) where C.Element == UInt8 {
        var value: UInt32 = 0
        var i = index
        for _ in 0..<4 {
            value = value << 8 | UInt32(bytes[i])
            bytes.formIndex(after: &i)
        }
        rawValue = value
    }

    public static let any = IPv4Address(rawValue: 0)

    public var bytes: [UInt8] {
        [UInt8(truncatingIfNeeded: rawValue >> 24), UInt8(truncatingIfNeeded: rawValue >> 16),
         UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue)]
    }

    public var description: String { bytes.map(String.init).joined(separator: ".") }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = IPv4Address(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "\"\(text)\" is not an IPv4 address; write four decimal octets like 10.10.0.10"))
        }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// An IPv4 address with a prefix length, as in `10.10.0.10/24`.
public struct IPv4Interface: Hashable, Sendable, CustomStringConvertible, Codable {
    public let address: IPv4Address
    public let prefixLength: Int

    public init(address: IPv4Address, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses `a.b.c.d/n` with n in 0...32; nil otherwise.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(String(parts[0])),
              let length = Int(parts[1]), (0...32).contains(length) else { return nil }
        self.init(address: address, prefixLength: length)
    }

    public var netmask: UInt32 { prefixLength == 0 ? 0 : UInt32.max << (32 - UInt32(prefixLength)) }
    public var network: UInt32 { address.rawValue & netmask }

    public func contains(_ other: IPv4Address) -> Bool { other.rawValue & netmask == network }

    public var description: String { "\(address)/\(prefixLength)" }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = IPv4Interface(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "\"\(text)\" is not an IPv4 address with prefix; write it like 10.10.0.10/24"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
