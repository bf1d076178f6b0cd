extension Array where Element == UInt8 {
    @inline(__always) mutating func appendBigEndian(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    @inline(__always) mutating func appendBigEndian(_ value: UInt32) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    @inline(__always) mutating func appendBigEndian(_ value: UInt64) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    /// Overwrites 4 bytes at `offset` (used to patch a length after the payload is written).
    @inline(__always) mutating func storeBigEndian(_ value: UInt32, at offset: Int) {
        self[offset] = UInt8(truncatingIfNeeded: value >> 24)
        self[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
        self[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
        self[offset + 3] = UInt8(truncatingIfNeeded: value)
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always) func loadBigEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

/// Reads a payload field by field; every read is bounds-checked and throws instead of trapping.
struct PayloadReader {
    let bytes: ArraySlice<UInt8>
    let type: MigrationMessageType
    var index: Int

    init(_ bytes: ArraySlice<UInt8>, type: MigrationMessageType) {
        self.bytes = bytes
        self.type = type
        index = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - index }

    func fail(_ detail: String) -> MigrationProtocolError { .malformedPayload(type: type, detail: detail) }

    /// `field` names the field in the error only; it is not evaluated on success (no allocation per page).
    mutating func take(_ count: Int, _ field: @autoclosure () -> String) throws(MigrationProtocolError) -> ArraySlice<UInt8> {
        guard count >= 0, remaining >= count else {
            throw fail("truncated \(field()): needs \(count) bytes, \(remaining) left")
        }
        defer { index += count }
        return bytes[index..<index + count]
    }

    mutating func uint(_ width: Int, _ field: StaticString) throws(MigrationProtocolError) -> UInt64 {
        var value: UInt64 = 0
        for byte in try take(width, "\(field)") { value = value << 8 | UInt64(byte) }
        return value
    }

    mutating func u8(_ field: StaticString) throws(MigrationProtocolError) -> UInt8 { UInt8(try uint(1, field)) }
    mutating func u16(_ field: StaticString) throws(MigrationProtocolError) -> UInt16 { UInt16(try uint(2, field)) }
    mutating func u32(_ field: StaticString) throws(MigrationProtocolError) -> UInt32 { UInt32(try uint(4, field)) }
    mutating func u64(_ field: StaticString) throws(MigrationProtocolError) -> UInt64 { try uint(8, field) }

    mutating func string(_ field: String) throws(MigrationProtocolError) -> String {
        let length = try take(2, "\(field) length").reduce(0) { $0 << 8 | Int($1) }
        guard length <= MigrationWire.maxStringLength else {
            throw fail("\(field) is \(length) bytes, over the limit of \(MigrationWire.maxStringLength)")
        }
        let raw = try take(length, field)
        guard let text = String(validating: raw, as: UTF8.self) else { throw fail("\(field) is not valid UTF-8") }
        return text
    }

    mutating func blob(_ field: String, limit: Int) throws(MigrationProtocolError) -> [UInt8] {
        let length = try take(4, "\(field) length").reduce(0) { $0 << 8 | Int($1) }
        guard length <= limit else { throw fail("\(field) is \(length) bytes, over the limit of \(limit)") }
        return Array(try take(length, field))
    }

    func finish() throws(MigrationProtocolError) {
        guard remaining == 0 else { throw fail("\(remaining) unexpected trailing bytes") }
    }
}
