/// An ICMPv6 message type (RFC 4443, RFC 4861); an open set.
public struct ICMPv6Type: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let destinationUnreachable = ICMPv6Type(rawValue: 1)
    public static let packetTooBig = ICMPv6Type(rawValue: 2)
    public static let timeExceeded = ICMPv6Type(rawValue: 3)
    public static let parameterProblem = ICMPv6Type(rawValue: 4)
    public static let echoRequest = ICMPv6Type(rawValue: 128)
    public static let echoReply = ICMPv6Type(rawValue: 129)
    public static let routerSolicitation = ICMPv6Type(rawValue: 133)
    public static let routerAdvertisement = ICMPv6Type(rawValue: 134)
    public static let neighborSolicitation = ICMPv6Type(rawValue: 135)
    public static let neighborAdvertisement = ICMPv6Type(rawValue: 136)
    public static let mldv2Report = ICMPv6Type(rawValue: 143)

    /// tcpdump's words.
    public var description: String {
        switch self {
        case .destinationUnreachable: "destination unreachable"
        case .packetTooBig: "packet too big"
        case .timeExceeded: "time exceeded"
        case .parameterProblem: "parameter problem"
        case .echoRequest: "echo request"
        case .echoReply: "echo reply"
        case .routerSolicitation: "router solicitation"
        case .routerAdvertisement: "router advertisement"
        case .neighborSolicitation: "neighbor solicitation"
        case .neighborAdvertisement: "neighbor advertisement"
        case .mldv2Report: "multicast listener report v2"
        default: "type-#\(rawValue)"
        }
    }
}

/// A view over an ICMPv6 message (RFC 4443): type, code, checksum and the body after them.
///
/// The checksum covers the IPv6 pseudo-header, so verifying it needs the packet's addresses
/// (`isChecksumValid(source:destination:)`).
public struct ICMPv6Message: Hashable, Sendable, CustomStringConvertible {
    enum Field {
        static let type = 0
        static let code = 1
        static let checksum = 2
        static let body = 4
        static let identifier = 4
        static let sequence = 6
        static let echoHeader = 8
    }

    /// The whole message (the IPv6 payload).
    public let bytes: ArraySlice<UInt8>

    /// Parses a message; throws `.truncated` below 4 bytes.
    public init(_ bytes: ArraySlice<UInt8>) throws(WireError) {
        guard bytes.count >= Field.body else {
            throw .truncated(layer: "ICMPv6", needed: Field.body, available: bytes.count)
        }
        self.bytes = bytes
    }

    /// Parses an array.
    public init(_ bytes: [UInt8]) throws(WireError) { try self.init(bytes[...]) }

    public var type: ICMPv6Type { ICMPv6Type(rawValue: bytes.u8(at: Field.type)) }
    public var code: UInt8 { bytes.u8(at: Field.code) }
    public var checksum: UInt16 { bytes.u16(at: Field.checksum) }
    /// Everything after type, code and checksum.
    public var body: ArraySlice<UInt8> { bytes.from(Field.body) }
    /// True for echo request and echo reply.
    public var isEcho: Bool { type == .echoRequest || type == .echoReply }

    /// True when the checksum over the pseudo-header and the whole message verifies.
    public func isChecksumValid(source: IPv6Address, destination: IPv6Address) -> Bool {
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination, protocol: .icmpv6,
                                                length: UInt32(bytes.count))
        sum.add(bytes)
        return sum.value == 0
    }

    /// Builds a message from its type, code and body, with the checksum over the pseudo-header.
    public static func build<Body: Collection>(
        type: ICMPv6Type, code: UInt8 = 0, body: Body, source: IPv6Address, destination: IPv6Address
    ) -> [UInt8] where Body.Element == UInt8 {
        var message: [UInt8] = [type.rawValue, code, 0, 0]
        message.reserveCapacity(Field.body + body.count)
        message.append(contentsOf: body)
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination, protocol: .icmpv6,
                                                length: UInt32(message.count))
        sum.add(message)
        message.storeBE(sum.value, at: Field.checksum)
        return message
    }

    /// tcpdump's text: `ICMP6, echo request, id 7, seq 1, length 64`, `ICMP6, neighbor solicitation,
    /// who has fd00:10:10::10, length 32`, `ICMP6, neighbor advertisement, tgt is fd00:10:10::10, length 32`.
    public var description: String {
        switch type {
        case .echoRequest where bytes.count >= Field.echoHeader, .echoReply where bytes.count >= Field.echoHeader:
            return "ICMP6, \(type), id \(bytes.u16(at: Field.identifier)), seq \(bytes.u16(at: Field.sequence)), length \(bytes.count)"
        case .neighborSolicitation:
            if let ns = try? NeighborSolicitation(self) { return "ICMP6, \(type), who has \(ns.target), length \(bytes.count)" }
        case .neighborAdvertisement:
            if let na = try? NeighborAdvertisement(self) {
                let flags = [na.router ? "router" : nil, na.solicited ? "solicited" : nil, na.override ? "override" : nil]
                    .compactMap { $0 }.joined(separator: ", ")
                return "ICMP6, \(type), tgt is \(na.target)\(flags.isEmpty ? "" : " [\(flags)]"), length \(bytes.count)"
            }
        default:
            break
        }
        return "ICMP6, \(type), length \(bytes.count)"
    }
}

/// An ICMPv6 echo request or reply (RFC 4443 section 4) as a value: parsed from a message, built to bytes.
public struct ICMPv6Echo: Hashable, Sendable {
    /// `.echoRequest` or `.echoReply`.
    public var type: ICMPv6Type
    public var identifier: UInt16
    public var sequence: UInt16
    public var payload: [UInt8]

    public init(type: ICMPv6Type, identifier: UInt16, sequence: UInt16, payload: [UInt8]) {
        self.type = type
        self.identifier = identifier
        self.sequence = sequence
        self.payload = payload
    }

    /// Reads an echo message (the checksum is the caller's to verify, it needs the addresses); throws
    /// `.invalidField` for other types or a non-zero code, `.truncated` below 8 bytes.
    public init(_ message: ICMPv6Message) throws(WireError) {
        guard message.isEcho else { throw .invalidField(layer: "ICMPv6", field: "type", value: Int(message.type.rawValue)) }
        guard message.code == 0 else { throw .invalidField(layer: "ICMPv6", field: "code", value: Int(message.code)) }
        guard message.bytes.count >= ICMPv6Message.Field.echoHeader else {
            throw .truncated(layer: "ICMPv6 echo", needed: ICMPv6Message.Field.echoHeader, available: message.bytes.count)
        }
        self.init(type: message.type, identifier: message.bytes.u16(at: ICMPv6Message.Field.identifier),
                  sequence: message.bytes.u16(at: ICMPv6Message.Field.sequence),
                  payload: Array(message.bytes.from(ICMPv6Message.Field.echoHeader)))
    }

    /// The reply a node sends back: same identifier, sequence and payload.
    public func reply() -> ICMPv6Echo {
        ICMPv6Echo(type: .echoReply, identifier: identifier, sequence: sequence, payload: payload)
    }

    /// The wire form, checksummed for a packet from `source` to `destination`.
    public func bytes(source: IPv6Address, destination: IPv6Address) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(4 + payload.count)
        body.appendBE(identifier)
        body.appendBE(sequence)
        body.append(contentsOf: payload)
        return ICMPv6Message.build(type: type, body: body, source: source, destination: destination)
    }
}
