/// An ICMPv4 message type; an open set.
public struct ICMPType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let echoReply = ICMPType(rawValue: 0)
    public static let destinationUnreachable = ICMPType(rawValue: 3)
    public static let echoRequest = ICMPType(rawValue: 8)
    public static let timeExceeded = ICMPType(rawValue: 11)

    public var description: String {
        switch self {
        case .echoReply: "echo reply"
        case .destinationUnreachable: "unreachable"
        case .echoRequest: "echo request"
        case .timeExceeded: "time exceeded"
        default: "type-#\(rawValue)"
        }
    }
}

/// A view over an ICMPv4 message (RFC 792): an 8-byte header and a payload.
///
/// `identifier` and `sequence` read the second header word as echo messages define it.
public struct ICMPv4Message: Hashable, Sendable, CustomStringConvertible {
    enum Field {
        static let type = 0
        static let code = 1
        static let checksum = 2
        static let identifier = 4
        static let sequence = 6
        static let header = 8
    }

    /// The whole message (the IPv4 payload).
    public let bytes: ArraySlice<UInt8>

    /// Parses a message; throws `.truncated` below 8 bytes.
    public init(_ bytes: ArraySlice<UInt8>) throws(WireError) {
        guard bytes.count >= Field.header else {
            throw .truncated(layer: "ICMP", needed: Field.header, available: bytes.count)
        }
        self.bytes = bytes
    }

    /// Parses an array.
    public init(_ bytes: [UInt8]) throws(WireError) { try self.init(bytes[...]) }

    public var type: ICMPType { ICMPType(rawValue: bytes.u8(at: Field.type)) }
    public var code: UInt8 { bytes.u8(at: Field.code) }
    public var checksum: UInt16 { bytes.u16(at: Field.checksum) }
    public var identifier: UInt16 { bytes.u16(at: Field.identifier) }
    public var sequence: UInt16 { bytes.u16(at: Field.sequence) }
    /// Everything after the 8-byte header.
    public var payload: ArraySlice<UInt8> { bytes.from(Field.header) }
    /// True for echo request and echo reply.
    public var isEcho: Bool { type == .echoRequest || type == .echoReply }

    /// True when the checksum over the whole message verifies.
    public var isChecksumValid: Bool { InternetChecksum.compute(bytes) == 0 }

    /// tcpdump's text: `ICMP echo request, id 7, seq 3, length 64`.
    public var description: String {
        if isEcho {
            return "ICMP \(type), id \(identifier), seq \(sequence), length \(bytes.count)"
        }
        return "ICMP \(type), code \(code), length \(bytes.count)"
    }
}

/// An ICMP echo request or reply as a value: parsed from a message, built to bytes.
public struct ICMPEchoMessage: Hashable, Sendable {
    /// `.echoRequest` or `.echoReply`.
    public var type: ICMPType
    public var identifier: UInt16
    public var sequence: UInt16
    public var payload: [UInt8]

    public init(type: ICMPType, identifier: UInt16, sequence: UInt16, payload: [UInt8]) {
        self.type = type
        self.identifier = identifier
        self.sequence = sequence
        self.payload = payload
    }

    /// Reads an echo message; throws `.invalidField` for other types or a non-zero code,
    /// `.badChecksum` when the checksum does not verify.
    public init(_ message: ICMPv4Message) throws(WireError) {
        guard message.isEcho else { throw .invalidField(layer: "ICMP", field: "type", value: Int(message.type.rawValue)) }
        guard message.code == 0 else { throw .invalidField(layer: "ICMP", field: "code", value: Int(message.code)) }
        guard message.isChecksumValid else { throw .badChecksum(layer: "ICMP") }
        self.init(type: message.type, identifier: message.identifier, sequence: message.sequence,
                  payload: Array(message.payload))
    }

    /// The echo reply a host sends back: same identifier, sequence and payload.
    public func reply() -> ICMPEchoMessage {
        ICMPEchoMessage(type: .echoReply, identifier: identifier, sequence: sequence, payload: payload)
    }

    /// The wire form with its checksum.
    public var bytes: [UInt8] {
        Self.build(type: type, identifier: identifier, sequence: sequence, payload: payload)
    }

    /// Builds an echo message (type 8 request or 0 reply, code 0) with a correct checksum.
    public static func build<Payload: Collection>(
        type: ICMPType, identifier: UInt16, sequence: UInt16, payload: Payload
    ) -> [UInt8] where Payload.Element == UInt8 {
        var message: [UInt8] = []
        message.reserveCapacity(ICMPv4Message.Field.header + payload.count)
        message.append(type.rawValue)
        message.append(0)
        message.appendBE(UInt16(0))
        message.appendBE(identifier)
        message.appendBE(sequence)
        message.append(contentsOf: payload)
        message.storeBE(InternetChecksum.compute(message), at: ICMPv4Message.Field.checksum)
        return message
    }

    /// The reply to an echo request message, or nil if `request` is not a valid echo request.
    public static func reply(to request: ICMPv4Message) -> [UInt8]? {
        guard request.type == .echoRequest, let echo = try? ICMPEchoMessage(request) else { return nil }
        return echo.reply().bytes
    }
}
