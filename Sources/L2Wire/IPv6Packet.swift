/// A view over an IPv6 packet (RFC 8200): the 40-byte fixed header and its payload.
///
/// The initializer checks version 6, the fixed header fits and the payload length fits the bytes
/// given; `bytes` is then cut to 40 + payload length, so Ethernet padding is never payload.
/// Extension headers are not parsed: `nextHeader` names the first one and `hasExtensionHeaders`
/// says so; callers treat such packets as not handled. A jumbogram (payload length 0 with a
/// hop-by-hop option) is likewise seen as an empty payload.
public struct IPv6Packet: Hashable, Sendable, CustomStringConvertible {
    enum Field {
        static let versionClassFlow = 0
        static let payloadLength = 4
        static let nextHeader = 6
        static let hopLimit = 7
        static let source = 8
        static let destination = 24
        static let header = 40
    }

    /// The fixed header's size.
    public static let headerLength = Field.header

    /// The packet, exactly 40 + `payloadLength` bytes.
    public let bytes: ArraySlice<UInt8>

    /// Parses a packet; bytes after the payload are ignored.
    public init(_ bytes: ArraySlice<UInt8>) throws(WireError) {
        guard bytes.count >= Field.header else {
            throw .truncated(layer: "IPv6", needed: Field.header, available: bytes.count)
        }
        let version = bytes.u8(at: Field.versionClassFlow) >> 4
        guard version == 6 else { throw .invalidField(layer: "IPv6", field: "version", value: Int(version)) }
        let total = Field.header + Int(bytes.u16(at: Field.payloadLength))
        guard total <= bytes.count else { throw .truncated(layer: "IPv6", needed: total, available: bytes.count) }
        self.bytes = bytes.sub(0, total)
    }

    /// Parses an array.
    public init(_ bytes: [UInt8]) throws(WireError) { try self.init(bytes[...]) }

    public var version: UInt8 { bytes.u8(at: Field.versionClassFlow) >> 4 }
    /// The traffic class (DSCP << 2 | ECN).
    public var trafficClass: UInt8 { UInt8(truncatingIfNeeded: bytes.u32(at: Field.versionClassFlow) >> 20) }
    /// The 20-bit flow label.
    public var flowLabel: UInt32 { bytes.u32(at: Field.versionClassFlow) & 0xF_FFFF }
    public var payloadLength: UInt16 { bytes.u16(at: Field.payloadLength) }
    /// The protocol of the payload, or the first extension header.
    public var nextHeader: IPProtocol { IPProtocol(rawValue: bytes.u8(at: Field.nextHeader)) }
    public var hopLimit: UInt8 { bytes.u8(at: Field.hopLimit) }
    public var source: IPv6Address { bytes.ipv6(at: Field.source) }
    public var destination: IPv6Address { bytes.ipv6(at: Field.destination) }
    /// Everything after the fixed header, bounded by the payload length.
    public var payload: ArraySlice<UInt8> { bytes.from(Field.header) }

    /// True when `nextHeader` is an extension header (hop-by-hop, routing, fragment, destination
    /// options, ESP, AH, mobility, HIP, shim6, experimental), which this view does not walk.
    public var hasExtensionHeaders: Bool { Self.extensionHeaders.contains(bytes.u8(at: Field.nextHeader)) }

    static let extensionHeaders: Set<UInt8> = [0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254]

    /// Builds a packet (no extension headers). Traps if the payload exceeds 65,535 bytes (a programming error).
    public static func build<Payload: Collection>(
        source: IPv6Address, destination: IPv6Address, nextHeader: IPProtocol, payload: Payload,
        hopLimit: UInt8 = 64, trafficClass: UInt8 = 0, flowLabel: UInt32 = 0
    ) -> [UInt8] where Payload.Element == UInt8 {
        precondition(payload.count <= Int(UInt16.max), "IPv6 payload of \(payload.count) bytes does not fit in one packet")
        var packet: [UInt8] = []
        packet.reserveCapacity(Field.header + payload.count)
        packet.appendBE(UInt32(6) << 28 | UInt32(trafficClass) << 20 | flowLabel & 0xF_FFFF)
        packet.appendBE(UInt16(payload.count))
        packet.append(nextHeader.rawValue)
        packet.append(hopLimit)
        packet.append(source)
        packet.append(destination)
        packet.append(contentsOf: payload)
        return packet
    }

    /// tcpdump's text: `fd00:10:10::100 > fd00:10:10::10: ICMP6, echo request, id 7, seq 1, length 64`.
    public var description: String { FrameSummary.describe(self) }
}
