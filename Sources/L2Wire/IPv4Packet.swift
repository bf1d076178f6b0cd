/// An IP protocol number; an open set, so unknown protocols still parse and print.
public struct IPProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let icmp = IPProtocol(rawValue: 1)
    public static let tcp = IPProtocol(rawValue: 6)
    public static let udp = IPProtocol(rawValue: 17)
    public static let icmpv6 = IPProtocol(rawValue: 58)

    public var description: String {
        switch self {
        case .icmp: "ICMP"
        case .tcp: "TCP"
        case .udp: "UDP"
        case .icmpv6: "ICMPv6"
        default: "ip-proto-\(rawValue)"
        }
    }
}

/// A view over an IPv4 packet (RFC 791).
///
/// The initializer checks version 4, IHL ≥ 5, the header fits, and header length ≤ total length ≤
/// the bytes given; `bytes` is then cut to the total length, so Ethernet padding after the packet is
/// never mistaken for payload. Options are kept in `options` and otherwise skipped. The header
/// checksum is not enforced; ask `isChecksumValid`.
public struct IPv4Packet: Hashable, Sendable, CustomStringConvertible {
    enum Field {
        static let versionIHL = 0
        static let tos = 1
        static let totalLength = 2
        static let identification = 4
        static let flagsFragment = 6
        static let ttl = 8
        static let proto = 9
        static let checksum = 10
        static let source = 12
        static let destination = 16
        static let minimumHeader = 20
    }

    /// The packet, exactly `totalLength` bytes.
    public let bytes: ArraySlice<UInt8>
    /// IHL × 4, 20...60.
    public let headerLength: Int

    /// Parses a packet; bytes after `totalLength` are ignored.
    public init(_ bytes: ArraySlice<UInt8>) throws(WireError) {
        guard bytes.count >= Field.minimumHeader else {
            throw .truncated(layer: "IPv4", needed: Field.minimumHeader, available: bytes.count)
        }
        let versionIHL = bytes.u8(at: Field.versionIHL)
        guard versionIHL >> 4 == 4 else {
            throw .invalidField(layer: "IPv4", field: "version", value: Int(versionIHL >> 4))
        }
        let ihl = Int(versionIHL & 0x0F)
        guard ihl >= 5 else { throw .invalidField(layer: "IPv4", field: "IHL", value: ihl) }
        let headerLength = ihl * 4
        guard bytes.count >= headerLength else {
            throw .truncated(layer: "IPv4", needed: headerLength, available: bytes.count)
        }
        let totalLength = Int(bytes.u16(at: Field.totalLength))
        guard totalLength >= headerLength else {
            throw .invalidField(layer: "IPv4", field: "total length", value: totalLength)
        }
        guard totalLength <= bytes.count else {
            throw .truncated(layer: "IPv4", needed: totalLength, available: bytes.count)
        }
        self.bytes = bytes.sub(0, totalLength)
        self.headerLength = headerLength
    }

    /// Parses an array.
    public init(_ bytes: [UInt8]) throws(WireError) { try self.init(bytes[...]) }

    public var version: UInt8 { bytes.u8(at: Field.versionIHL) >> 4 }
    /// Header length in 32-bit words.
    public var ihl: UInt8 { bytes.u8(at: Field.versionIHL) & 0x0F }
    /// The type-of-service byte (DSCP << 2 | ECN).
    public var tos: UInt8 { bytes.u8(at: Field.tos) }
    public var totalLength: UInt16 { bytes.u16(at: Field.totalLength) }
    public var identification: UInt16 { bytes.u16(at: Field.identification) }
    /// DF bit.
    public var dontFragment: Bool { bytes.u16(at: Field.flagsFragment) & 0x4000 != 0 }
    /// MF bit.
    public var moreFragments: Bool { bytes.u16(at: Field.flagsFragment) & 0x2000 != 0 }
    /// Fragment offset in 8-byte units.
    public var fragmentOffset: UInt16 { bytes.u16(at: Field.flagsFragment) & 0x1FFF }
    public var ttl: UInt8 { bytes.u8(at: Field.ttl) }
    public var `protocol`: IPProtocol { IPProtocol(rawValue: bytes.u8(at: Field.proto)) }
    public var checksum: UInt16 { bytes.u16(at: Field.checksum) }
    public var source: IPv4Address { bytes.ipv4(at: Field.source) }
    public var destination: IPv4Address { bytes.ipv4(at: Field.destination) }
    /// The option bytes between the fixed header and the payload (empty when IHL is 5).
    public var options: ArraySlice<UInt8> { bytes.sub(Field.minimumHeader, headerLength - Field.minimumHeader) }
    /// The header, options included.
    public var header: ArraySlice<UInt8> { bytes.sub(0, headerLength) }
    /// The payload, bounded by the total length.
    public var payload: ArraySlice<UInt8> { bytes.from(headerLength) }

    /// True when the header checksum verifies.
    public var isChecksumValid: Bool { InternetChecksum.compute(header) == 0 }

    /// True when this is a fragment other than the first (its payload starts mid-datagram).
    public var isLaterFragment: Bool { fragmentOffset != 0 }

    /// Builds a packet with a 20-byte header and a correct header checksum.
    ///
    /// Traps if the payload exceeds 65,515 bytes (a programming error).
    public static func build<Payload: Collection>(
        source: IPv4Address, destination: IPv4Address, protocol proto: IPProtocol, payload: Payload,
        ttl: UInt8 = 64, identification: UInt16 = 0, tos: UInt8 = 0, dontFragment: Bool = true
    ) -> [UInt8] where Payload.Element == UInt8 {
        let total = Field.minimumHeader + payload.count
        precondition(total <= Int(UInt16.max), "IPv4 payload of \(payload.count) bytes does not fit in one packet")
        var packet: [UInt8] = []
        packet.reserveCapacity(total)
        packet.append(0x45)
        packet.append(tos)
        packet.appendBE(UInt16(total))
        packet.appendBE(identification)
        packet.appendBE(UInt16(dontFragment ? 0x4000 : 0))
        packet.append(ttl)
        packet.append(proto.rawValue)
        packet.appendBE(UInt16(0))
        packet.append(source)
        packet.append(destination)
        packet.storeBE(InternetChecksum.compute(packet), at: Field.checksum)
        packet.append(contentsOf: payload)
        return packet
    }

    /// tcpdump's text: `10.10.0.100 > 10.10.0.10: ICMP echo request, id 7, seq 3, length 64`.
    public var description: String { FrameSummary.describe(self) }
}
