/// Why a frame or packet could not be parsed. Parsers throw this; they never trap on any input.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than the header (or declared length) requires.
    case truncated(layer: String, needed: Int, available: Int)
    /// A field holds a value this parser does not accept.
    case invalidField(layer: String, field: String, value: Int)
    /// A checksum did not verify.
    case badChecksum(layer: String)

    public var description: String {
        switch self {
        case let .truncated(layer, needed, available):
            "\(layer): truncated, needs \(needed) bytes, has \(available)"
        case let .invalidField(layer, field, value):
            "\(layer): invalid \(field) \(value)"
        case let .badChecksum(layer):
            "\(layer): bad checksum"
        }
    }
}
