import Foundation

/// JSON-encodes a value for round-trip tests.
func jsonEncode<T: Encodable>(_ value: T) throws -> [UInt8] {
    Array(try JSONEncoder().encode(value))
}
