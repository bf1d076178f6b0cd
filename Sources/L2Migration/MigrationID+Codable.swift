/// A migration id travels as its text (`0123abcd-…`), a secret as 64 hex digits; both are refused
/// with a message when malformed, so a control request can carry them typed.
extension MigrationID: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = MigrationID(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "migration id \"\(text)\" is not 32 hex digits")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension MigrationSecret: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex, let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex),
              let byte = UInt8(text[index..<next], radix: 16) {
            bytes.append(byte)
            index = next
        }
        guard index == text.endIndex, let secret = MigrationSecret(bytes: bytes) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "the migration secret must be 64 hex digits")
        }
        self = secret
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
    }

    /// A fresh random secret (the coordinator makes one per migration).
    public static func random() -> MigrationSecret {
        MigrationSecret(bytes: (0..<length).map { _ in UInt8.random(in: 0...255) })!
    }
}
