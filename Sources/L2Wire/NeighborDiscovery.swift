/// A Neighbor Discovery option (RFC 4861 section 4.6): type, length in units of 8 bytes, value.
/// Only the link-layer address options are interpreted; the rest are kept as they came.
public enum NDPOption: Hashable, Sendable {
    /// Type 1: the sender's MAC (in solicitations).
    case sourceLinkLayerAddress(MACAddress)
    /// Type 2: the target's MAC (in advertisements).
    case targetLinkLayerAddress(MACAddress)
    /// Any other option (a DAD nonce, type 14, for one): its type and the bytes after type and length.
    case other(type: UInt8, value: [UInt8])

    /// The option's bytes, padded to a multiple of 8.
    public var bytes: [UInt8] {
        switch self {
        case let .sourceLinkLayerAddress(mac):
            return [1, 1] + mac.bytes
        case let .targetLinkLayerAddress(mac):
            return [2, 1] + mac.bytes
        case let .other(type, value):
            let units = (value.count + 2 + 7) / 8
            return [type, UInt8(truncatingIfNeeded: units)] + value + Array(repeating: 0, count: units * 8 - 2 - value.count)
        }
    }

    /// Parses the options after a message's fixed part; throws on a zero length or one running past
    /// the end (RFC 4861 7.1.1: such a message is discarded).
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(WireError) -> [NDPOption] {
        var options: [NDPOption] = []
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 2 else {
                throw .truncated(layer: "NDP option", needed: 2, available: bytes.count - offset)
            }
            let type = bytes.u8(at: offset)
            let length = Int(bytes.u8(at: offset + 1)) * 8
            guard length > 0 else { throw .invalidField(layer: "NDP option", field: "length", value: 0) }
            guard offset + length <= bytes.count else {
                throw .truncated(layer: "NDP option", needed: length, available: bytes.count - offset)
            }
            switch type {
            case 1 where length == 8: options.append(.sourceLinkLayerAddress(bytes.mac(at: offset + 2)))
            case 2 where length == 8: options.append(.targetLinkLayerAddress(bytes.mac(at: offset + 2)))
            default: options.append(.other(type: type, value: Array(bytes.sub(offset + 2, length - 2))))
            }
            offset += length
        }
        return options
    }
}

/// A Neighbor Solicitation (RFC 4861 section 4.3): "who has `target`?", as a value.
public struct NeighborSolicitation: Hashable, Sendable {
    enum Field {
        static let target = 8
        static let options = 24
    }

    public var target: IPv6Address
    public var options: [NDPOption]

    public init(target: IPv6Address, options: [NDPOption] = []) {
        self.target = target
        self.options = options
    }

    /// Reads a solicitation: type 135, code 0, at least 24 bytes, well-formed options. The checksum
    /// and hop limit are the caller's to check (they need the IPv6 header).
    public init(_ message: ICMPv6Message) throws(WireError) {
        try message.requireNDP(.neighborSolicitation, minimumLength: Field.options, name: "NDP solicitation")
        self.init(target: message.bytes.ipv6(at: Field.target), options: try NDPOption.parse(message.bytes.from(Field.options)))
    }

    /// The solicitor's MAC from its source link-layer address option, if it sent one.
    public var sourceLinkLayerAddress: MACAddress? {
        for case let .sourceLinkLayerAddress(mac) in options { return mac }
        return nil
    }

    /// The ICMPv6 message, checksummed for a packet from `source` to `destination`.
    public func bytes(source: IPv6Address, destination: IPv6Address) -> [UInt8] {
        var body: [UInt8] = [0, 0, 0, 0]
        body.append(target)
        for option in options { body += option.bytes }
        return ICMPv6Message.build(type: .neighborSolicitation, body: body, source: source, destination: destination)
    }
}

/// A Neighbor Advertisement (RFC 4861 section 4.4): "`target` is at …", with its router (R),
/// solicited (S) and override (O) flags, as a value.
public struct NeighborAdvertisement: Hashable, Sendable {
    enum Field {
        static let flags = 4
        static let target = 8
        static let options = 24
    }

    /// R: the sender is a router.
    public var router: Bool
    /// S: an answer to a solicitation (unicast to the solicitor).
    public var solicited: Bool
    /// O: replace a cached link-layer address.
    public var override: Bool
    public var target: IPv6Address
    public var options: [NDPOption]

    public init(router: Bool = false, solicited: Bool, override: Bool, target: IPv6Address, options: [NDPOption] = []) {
        self.router = router
        self.solicited = solicited
        self.override = override
        self.target = target
        self.options = options
    }

    /// Reads an advertisement: type 136, code 0, at least 24 bytes, well-formed options.
    public init(_ message: ICMPv6Message) throws(WireError) {
        try message.requireNDP(.neighborAdvertisement, minimumLength: Field.options, name: "NDP advertisement")
        let flags = message.bytes.u8(at: Field.flags)
        self.init(router: flags & 0x80 != 0, solicited: flags & 0x40 != 0, override: flags & 0x20 != 0,
                  target: message.bytes.ipv6(at: Field.target), options: try NDPOption.parse(message.bytes.from(Field.options)))
    }

    /// The advertised MAC from the target link-layer address option, if present.
    public var targetLinkLayerAddress: MACAddress? {
        for case let .targetLinkLayerAddress(mac) in options { return mac }
        return nil
    }

    /// The ICMPv6 message, checksummed for a packet from `source` to `destination`.
    public func bytes(source: IPv6Address, destination: IPv6Address) -> [UInt8] {
        let flags: UInt8 = (router ? 0x80 : 0) | (solicited ? 0x40 : 0) | (override ? 0x20 : 0)
        var body: [UInt8] = [flags, 0, 0, 0]
        body.append(target)
        for option in options { body += option.bytes }
        return ICMPv6Message.build(type: .neighborAdvertisement, body: body, source: source, destination: destination)
    }
}

extension ICMPv6Message {
    /// Checks an NDP message's type, its code (0) and that its fixed part is there.
    func requireNDP(_ type: ICMPv6Type, minimumLength: Int, name: String) throws(WireError) {
        guard self.type == type else { throw .invalidField(layer: "NDP", field: "type", value: Int(self.type.rawValue)) }
        guard code == 0 else { throw .invalidField(layer: "NDP", field: "code", value: Int(code)) }
        guard bytes.count >= minimumLength else { throw .truncated(layer: name, needed: minimumLength, available: bytes.count) }
    }
}
