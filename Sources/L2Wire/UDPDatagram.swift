/// A view over a UDP datagram (RFC 768).
///
/// The initializer checks 8 ≤ length ≤ the bytes given; `bytes` is then cut to the UDP length.
public struct UDPDatagram: Hashable, Sendable, CustomStringConvertible {
    enum Field {
        static let sourcePort = 0
        static let destinationPort = 2
        static let length = 4
        static let checksum = 6
        static let header = 8
    }

    /// The datagram, exactly `length` bytes.
    public let bytes: ArraySlice<UInt8>

    /// Parses a datagram; bytes after its length field's end are ignored.
    public init(_ bytes: ArraySlice<UInt8>) throws(WireError) {
        guard bytes.count >= Field.header else {
            throw .truncated(layer: "UDP", needed: Field.header, available: bytes.count)
        }
        let length = Int(bytes.u16(at: Field.length))
        guard length >= Field.header else { throw .invalidField(layer: "UDP", field: "length", value: length) }
        guard length <= bytes.count else { throw .truncated(layer: "UDP", needed: length, available: bytes.count) }
        self.bytes = bytes.sub(0, length)
    }

    /// Parses an array.
    public init(_ bytes: [UInt8]) throws(WireError) { try self.init(bytes[...]) }

    public var sourcePort: UInt16 { bytes.u16(at: Field.sourcePort) }
    public var destinationPort: UInt16 { bytes.u16(at: Field.destinationPort) }
    /// Header plus payload, in bytes.
    public var length: UInt16 { bytes.u16(at: Field.length) }
    /// Zero means the sender computed none.
    public var checksum: UInt16 { bytes.u16(at: Field.checksum) }
    public var payload: ArraySlice<UInt8> { bytes.from(Field.header) }

    /// True when the checksum verifies against the IPv4 pseudo-header, or when none was sent (0).
    public func isChecksumValid(source: IPv4Address, destination: IPv4Address) -> Bool {
        if checksum == 0 { return true }
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination,
                                                protocol: .udp, length: length)
        sum.add(bytes)
        return sum.value == 0
    }

    /// Builds a datagram with its checksum over the IPv4 pseudo-header; a computed 0 is sent as 0xFFFF.
    ///
    /// Traps if the payload exceeds 65,527 bytes (a programming error).
    public static func build<Payload: Collection>(
        source: IPv4Address, destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16,
        payload: Payload
    ) -> [UInt8] where Payload.Element == UInt8 {
        let length = Field.header + payload.count
        precondition(length <= Int(UInt16.max), "UDP payload of \(payload.count) bytes does not fit")
        var datagram: [UInt8] = []
        datagram.reserveCapacity(length)
        datagram.appendBE(sourcePort)
        datagram.appendBE(destinationPort)
        datagram.appendBE(UInt16(length))
        datagram.appendBE(UInt16(0))
        datagram.append(contentsOf: payload)
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination,
                                                protocol: .udp, length: UInt16(length))
        sum.add(datagram)
        let checksum = sum.value
        datagram.storeBE(checksum == 0 ? 0xFFFF : checksum, at: Field.checksum)
        return datagram
    }

    /// tcpdump's text without addresses: `40000 > 7777: UDP, length 8` (the payload length).
    public var description: String { "\(sourcePort) > \(destinationPort): UDP, length \(payload.count)" }
}
