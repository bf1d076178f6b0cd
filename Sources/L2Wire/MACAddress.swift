/// A 48-bit IEEE 802 MAC address, stored as six octets.
///
/// Prints as `00:50:56:00:00:10`, parses from the same form.
public struct MACAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let octets: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ e: UInt8, _ f: UInt8) {
        octets = (a, b, c, d, e, f)
    }

    /// Reads six bytes starting at `index`; the caller has checked the bounds.
    @inlinable
    public init<C: Collection>(bytes: C, at index: C.Index) where C.Element == UInt8 {
        var i = index
        let a = bytes[i]; bytes.formIndex(after: &i)
        let b = bytes[i]; bytes.formIndex(after: &i)
        let c = bytes[i]; bytes.formIndex(after: &i)
        let d = bytes[i]; bytes.formIndex(after: &i)
        let e = bytes[i]; bytes.formIndex(after: &i)
        let f = bytes[i]
        octets = (a, b, c, d, e, f)
    }

    /// The address as a 48-bit integer (first octet most significant).
    public init(rawValue: UInt64) {
        octets = (UInt8(truncatingIfNeeded: rawValue >> 40), UInt8(truncatingIfNeeded: rawValue >> 32),
                  UInt8(truncatingIfNeeded: rawValue >> 24), UInt8(truncatingIfNeeded: rawValue >> 16),
                  UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue))
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (or with `-`); nil if it is not six hex octets.
    public init?(_ text: String) {
        let parts = text.split(whereSeparator: { $0 == ":" || $0 == "-" })
        guard parts.count == 6 else { return nil }
        var values: [UInt8] = []
        for part in parts {
            guard part.count == 2, let value = UInt8(part, radix: 16) else { return nil }
            values.append(value)
        }
        self.init(values[0], values[1], values[2], values[3], values[4], values[5])
    }

    public static let broadcast = MACAddress(0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
    public static let zero = MACAddress(0, 0, 0, 0, 0, 0)

    public var rawValue: UInt64 {
        UInt64(octets.0) << 40 | UInt64(octets.1) << 32 | UInt64(octets.2) << 24
            | UInt64(octets.3) << 16 | UInt64(octets.4) << 8 | UInt64(octets.5)
    }

    public var bytes: [UInt8] { [octets.0, octets.1, octets.2, octets.3, octets.4, octets.5] }

    /// Group bit set: broadcast or multicast. Such addresses are never learned as a source.
    public var isMulticast: Bool { octets.0 & 0x01 != 0 }
    public var isBroadcast: Bool { self == .broadcast }
    public var isZero: Bool { rawValue == 0 }

    public static func == (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.rawValue == rhs.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
    public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        bytes.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined(separator: ":")
    }
}

extension MACAddress: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let mac = MACAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "\"\(text)\" is not a MAC address; write six hex octets like 00:50:56:00:00:10"))
        }
        self = mac
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
