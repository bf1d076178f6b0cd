/// A set of 802.1Q VLAN ids, as a trunk port's allowed list, written `10:20:30-40` (ids and ranges
/// separated by colons, since commas separate a port's keys).
///
/// Holds ids 1...4094 (0 means "no VLAN" and 4095 is reserved). A bitmap of 4096 bits, so a
/// membership test is one load and one mask.
public struct VLANSet: Hashable, Sendable, CustomStringConvertible {
    /// The VLAN ids a port can be configured with: 0 is "untagged" and 4095 is reserved.
    public static let validIDs: ClosedRange<UInt16> = 1...4094

    private var words: [UInt64]

    /// The empty set.
    public init() { words = Array(repeating: 0, count: 64) }

    /// The set of `ids`; traps on an id outside `validIDs` (a programming error; parse user input
    /// with `init(parsing:)`).
    public init<IDs: Sequence>(_ ids: IDs) where IDs.Element == UInt16 {
        self.init()
        for id in ids { insert(id) }
    }

    /// Parses `10:20:30-40`; the error names the part that is wrong.
    public init(parsing text: String) throws(VLANListError) {
        self.init()
        guard !text.isEmpty else { throw VLANListError(text: text, part: "", problem: "is empty") }
        for part in text.split(separator: ":", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard let low = Self.id(bounds[0]), let high = bounds.count == 2 ? Self.id(bounds[1]) : low else {
                throw VLANListError(text: text, part: String(part),
                                    problem: "is not a VLAN id (\(Self.validIDs.lowerBound)...\(Self.validIDs.upperBound)) or a range like 30-40")
            }
            guard low <= high else { throw VLANListError(text: text, part: String(part), problem: "is a range that runs backwards") }
            for id in low...high { insert(id) }
        }
    }

    private static func id(_ text: Substring) -> UInt16? {
        guard let value = UInt16(text), validIDs.contains(value) else { return nil }
        return value
    }

    /// Whether `id` is in the set (false for any id outside 1...4094).
    public func contains(_ id: UInt16) -> Bool {
        id < 4096 && words[Int(id >> 6)] & (1 << UInt64(id & 63)) != 0
    }

    /// Adds `id`, which must be in 1...4094.
    public mutating func insert(_ id: UInt16) {
        precondition(Self.validIDs.contains(id), "VLAN id \(id) is out of range \(Self.validIDs)")
        words[Int(id >> 6)] |= 1 << UInt64(id & 63)
    }

    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }
    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// The ids in increasing order.
    public var ids: [UInt16] { (Self.validIDs).filter(contains) }

    /// The canonical form: ids in order, runs of three or more as ranges (`10:20:30-40`).
    public var description: String {
        var parts: [String] = []
        var run: (low: UInt16, high: UInt16)?
        func close() {
            guard let (low, high) = run else { return }
            switch high - low {
            case 0: parts.append(String(low))
            case 1: parts += [String(low), String(high)]
            default: parts.append("\(low)-\(high)")
            }
        }
        for id in ids {
            if let current = run, current.high + 1 == id {
                run = (current.low, id)
            } else {
                close()
                run = (id, id)
            }
        }
        close()
        return parts.joined(separator: ":")
    }
}

extension VLANSet: Codable {
    /// Encodes as its canonical text (`"10:20:30-40"`).
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A VLAN list that does not parse, naming the part that is wrong.
public struct VLANListError: Error, Equatable, Sendable, CustomStringConvertible {
    public let text: String
    public let part: String
    public let problem: String

    public var description: String {
        part.isEmpty && text.isEmpty ? "the VLAN list is empty; write ids and ranges like 10:20:30-40"
            : "VLAN list \"\(text)\": \"\(part)\" \(problem); write ids and ranges like 10:20:30-40"
    }
}
