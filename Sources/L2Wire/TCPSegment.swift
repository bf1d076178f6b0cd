/// TCP header flags.
public struct TCPFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
    public static let urg = TCPFlags(rawValue: 0x20)
    public static let ece = TCPFlags(rawValue: 0x40)
    public static let cwr = TCPFlags(rawValue: 0x80)

    /// tcpdump's letters in tcpdump's order: `S`, `S.`, `.`, `P.`, `F.`, `R`; `none` when empty.
    public var description: String {
        let letters: [(TCPFlags, String)] = [(.fin, "F"), (.syn, "S"), (.rst, "R"), (.psh, "P"),
                                             (.ack, "."), (.urg, "U"), (.ece, "E"), (.cwr, "W")]
        let text = letters.filter { contains($0.0) }.map(\.1).joined()
        return text.isEmpty ? "none" : text
    }
}

/// A view over a TCP segment header and payload (RFC 9293).
///
/// The initializer checks 20 bytes are present, data offset ≥ 5 and the header (with options) fits.
/// The payload is whatever follows the header in the bytes given (the IPv4 payload).
public struct TCPSegment: Hashable, Sendable, CustomStringConvertible {
    enum Field {
        static let sourcePort = 0
        static let destinationPort = 2
        static let sequence = 4
        static let acknowledgment = 8
        static let dataOffset = 12
        static let flags = 13
        static let window = 14
        static let checksum = 16
        static let urgentPointer = 18
        static let minimumHeader = 20
    }

    /// The whole segment.
    public let bytes: ArraySlice<UInt8>
    /// Data offset × 4, 20...60.
    public let headerLength: Int

    /// Parses a segment.
    public init(_ bytes: ArraySlice<UInt8>) throws(WireError) {
        guard bytes.count >= Field.minimumHeader else {
            throw .truncated(layer: "TCP", needed: Field.minimumHeader, available: bytes.count)
        }
        let offset = Int(bytes.u8(at: Field.dataOffset) >> 4)
        guard offset >= 5 else { throw .invalidField(layer: "TCP", field: "data offset", value: offset) }
        guard offset * 4 <= bytes.count else {
            throw .truncated(layer: "TCP", needed: offset * 4, available: bytes.count)
        }
        self.bytes = bytes
        headerLength = offset * 4
    }

    /// Parses an array.
    public init(_ bytes: [UInt8]) throws(WireError) { try self.init(bytes[...]) }

    public var sourcePort: UInt16 { bytes.u16(at: Field.sourcePort) }
    public var destinationPort: UInt16 { bytes.u16(at: Field.destinationPort) }
    public var sequenceNumber: UInt32 { bytes.u32(at: Field.sequence) }
    public var acknowledgmentNumber: UInt32 { bytes.u32(at: Field.acknowledgment) }
    /// Header length in 32-bit words.
    public var dataOffset: UInt8 { bytes.u8(at: Field.dataOffset) >> 4 }
    public var flags: TCPFlags { TCPFlags(rawValue: bytes.u8(at: Field.flags)) }
    public var window: UInt16 { bytes.u16(at: Field.window) }
    public var checksum: UInt16 { bytes.u16(at: Field.checksum) }
    public var urgentPointer: UInt16 { bytes.u16(at: Field.urgentPointer) }
    /// The option bytes (MSS, window scale, SACK, timestamps...), unparsed.
    public var options: ArraySlice<UInt8> { bytes.sub(Field.minimumHeader, headerLength - Field.minimumHeader) }
    public var payload: ArraySlice<UInt8> { bytes.from(headerLength) }

    /// True when the checksum verifies against the IPv4 pseudo-header.
    public func isChecksumValid(source: IPv4Address, destination: IPv4Address) -> Bool {
        guard bytes.count <= Int(UInt16.max) else { return false }
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination,
                                                protocol: .tcp, length: UInt16(bytes.count))
        sum.add(bytes)
        return sum.value == 0
    }

    /// Builds a segment with its checksum over the IPv4 pseudo-header. `options` must be a multiple
    /// of 4 bytes and at most 40 (traps otherwise: a programming error).
    public static func build(
        source: IPv4Address, destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16,
        sequenceNumber: UInt32, acknowledgmentNumber: UInt32 = 0, flags: TCPFlags, window: UInt16,
        urgentPointer: UInt16 = 0, options: [UInt8] = [], payload: [UInt8] = []
    ) -> [UInt8] {
        build(source: .v4(source), destination: .v4(destination), sourcePort: sourcePort,
              destinationPort: destinationPort, sequenceNumber: sequenceNumber,
              acknowledgmentNumber: acknowledgmentNumber, flags: flags, window: window,
              urgentPointer: urgentPointer, options: options, payload: payload)
    }

    /// Builds a segment with its checksum over the pseudo-header of the addresses' family (RFC 9293
    /// for IPv4, RFC 8200 section 8.1 for IPv6). Both addresses must be of one family, `options` a
    /// multiple of 4 bytes and at most 40 (traps otherwise: a programming error).
    public static func build(
        source: IPAddress, destination: IPAddress, sourcePort: UInt16, destinationPort: UInt16,
        sequenceNumber: UInt32, acknowledgmentNumber: UInt32 = 0, flags: TCPFlags, window: UInt16,
        urgentPointer: UInt16 = 0, options: [UInt8] = [], payload: [UInt8] = []
    ) -> [UInt8] {
        precondition(options.count % 4 == 0 && options.count <= 40, "TCP options must be 0...40 bytes in 4-byte words")
        let headerLength = Field.minimumHeader + options.count
        let length = headerLength + payload.count
        precondition(length <= Int(UInt16.max), "TCP segment of \(length) bytes does not fit")
        var segment: [UInt8] = []
        segment.reserveCapacity(length)
        segment.appendBE(sourcePort)
        segment.appendBE(destinationPort)
        segment.appendBE(sequenceNumber)
        segment.appendBE(acknowledgmentNumber)
        segment.append(UInt8(headerLength / 4) << 4)
        segment.append(flags.rawValue)
        segment.appendBE(window)
        segment.appendBE(UInt16(0))
        segment.appendBE(urgentPointer)
        segment.append(contentsOf: options)
        segment.append(contentsOf: payload)
        var sum: InternetChecksum
        switch (source, destination) {
        case let (.v4(source), .v4(destination)):
            sum = InternetChecksum.pseudoHeader(source: source, destination: destination,
                                                protocol: .tcp, length: UInt16(length))
        case let (.v6(source), .v6(destination)):
            sum = InternetChecksum.pseudoHeader(source: source, destination: destination,
                                                protocol: .tcp, length: UInt32(length))
        default:
            preconditionFailure("TCP segment from \(source) to \(destination): the addresses' families differ")
        }
        sum.add(segment)
        segment.storeBE(sum.value, at: Field.checksum)
        return segment
    }

    /// True when the checksum verifies against the pseudo-header of the addresses' family; false
    /// when the families differ.
    public func isChecksumValid(source: IPAddress, destination: IPAddress) -> Bool {
        guard bytes.count <= Int(UInt16.max) else { return false }
        var sum: InternetChecksum
        switch (source, destination) {
        case let (.v4(source), .v4(destination)):
            sum = InternetChecksum.pseudoHeader(source: source, destination: destination,
                                                protocol: .tcp, length: UInt16(bytes.count))
        case let (.v6(source), .v6(destination)):
            sum = InternetChecksum.pseudoHeader(source: source, destination: destination,
                                                protocol: .tcp, length: UInt32(bytes.count))
        default:
            return false
        }
        sum.add(bytes)
        return sum.value == 0
    }

    /// tcpdump's text (absolute numbers, as `tcpdump -S`):
    /// `40000 > 8000: Flags [S], seq 1000, win 64240, length 0`.
    public var description: String {
        "\(sourcePort) > \(destinationPort): " + summary
    }

    /// The part after the ports: `Flags [S.], seq 2000, ack 1001, win 65160, length 0`.
    var summary: String {
        let flags = self.flags
        let length = payload.count
        var text = "Flags [\(flags)]"
        if length > 0 {
            text += ", seq \(sequenceNumber):\(sequenceNumber &+ UInt32(truncatingIfNeeded: length))"
        } else if !flags.isDisjoint(with: [.syn, .fin, .rst]) {
            text += ", seq \(sequenceNumber)"
        }
        if flags.contains(.ack) { text += ", ack \(acknowledgmentNumber)" }
        text += ", win \(window)"
        if flags.contains(.urg) { text += ", urg \(urgentPointer)" }
        text += ", length \(length)"
        return text
    }
}
