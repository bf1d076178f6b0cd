// IPv6 text forms: parsing per RFC 4291 section 2.2, printing per RFC 5952.

extension IPv6Address: CustomStringConvertible, Codable {
    /// Parses the RFC 4291 text forms: eight groups of one to four hex digits (`fd00:10:10:0:0:0:0:10`),
    /// one `::` standing for one or more zero groups (`fd00:10:10::10`, `::`, `::1`, `fe80::`), and an
    /// embedded IPv4 address in place of the last two groups (`::ffff:10.10.0.10`, `64:ff9b::1.2.3.4`).
    /// Hex digits in either case. Nil for anything else, a zone (`%eth0`) or prefix (`/64`) included.
    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= 45, text.utf8.allSatisfy({ $0 < 0x80 }), !text.contains(":::") else { return nil }
        let halves = text.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        switch halves.count {
        case 1:
            guard let groups = Self.groups(halves[0], ipv4Allowed: true), groups.count == 8 else { return nil }
            self.init(groups: groups)
        case 2:
            guard let head = Self.groups(halves[0], ipv4Allowed: false),
                  let tail = Self.groups(halves[1], ipv4Allowed: true), head.count + tail.count <= 7 else { return nil }
            self.init(groups: head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail)
        default:
            return nil
        }
    }

    /// The groups of one side of a `::` (or of a whole uncompressed address): `a:b:c`, possibly
    /// ending in dotted decimal; empty text is no groups.
    private static func groups(_ text: String, ipv4Allowed: Bool) -> [UInt16]? {
        guard !text.isEmpty else { return [] }
        let pieces = text.split(separator: ":", omittingEmptySubsequences: false)
        var groups: [UInt16] = []
        for (n, piece) in pieces.enumerated() {
            if ipv4Allowed, n == pieces.count - 1, piece.contains(".") {
                guard let v4 = IPv4Address(String(piece)) else { return nil }
                groups += [UInt16(truncatingIfNeeded: v4.rawValue >> 16), UInt16(truncatingIfNeeded: v4.rawValue)]
                continue
            }
            guard (1...4).contains(piece.count), piece.allSatisfy(\.isHexDigit), let group = UInt16(piece, radix: 16) else { return nil }
            groups.append(group)
        }
        return groups
    }

    /// Eight 16-bit groups, most significant first; the caller passes exactly eight.
    init(groups: [UInt16]) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (n, group) in groups.enumerated() {
            if n < 4 { high = high << 16 | UInt64(group) } else { low = low << 16 | UInt64(group) }
        }
        self.init(high: high, low: low)
    }

    /// The eight 16-bit groups, most significant first.
    public var groups: [UInt16] {
        (0..<8).map { n in UInt16(truncatingIfNeeded: (n < 4 ? high : low) >> UInt64(48 - 16 * (n % 4))) }
    }

    /// RFC 5952's canonical text: lower case, no leading zeros, the longest run of two or more zero
    /// groups (the first of equal runs) as `::`, a single zero group written `0`; IPv4-mapped
    /// addresses (`::ffff:0:0/96`) end in dotted decimal (`::ffff:10.10.0.10`).
    public var description: String {
        let groups = self.groups
        if high == 0, low >> 32 == 0xFFFF {
            return "::ffff:" + IPv4Address(rawValue: UInt32(truncatingIfNeeded: low)).description
        }
        var best = (start: -1, length: 0)
        var n = 0
        while n < 8 {
            guard groups[n] == 0 else { n += 1; continue }
            var end = n
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - n > best.length { best = (n, end - n) }
            n = end
        }
        func hex(_ range: Range<Int>) -> String { groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
        guard best.length >= 2 else { return hex(0..<8) }
        return hex(0..<best.start) + "::" + hex((best.start + best.length)..<8)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = IPv6Address(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "\"\(text)\" is not an IPv6 address; write hex groups separated by ':' like fd00:10:10::10"))
        }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
