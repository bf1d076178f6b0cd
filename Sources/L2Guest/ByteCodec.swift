/// Why a serialised blob (workload state, vCPU state) could not be decoded.
public enum GuestBlobError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(what: String, needed: Int, available: Int)
    case badMagic(what: String, found: UInt32)
    case unsupportedVersion(what: String, version: UInt16)
    case invalidField(what: String, field: String, value: UInt64)
    case trailingBytes(what: String, count: Int)

    public var description: String {
        switch self {
        case let .truncated(what, needed, available):
            "\(what) blob truncated: needs \(needed) more bytes, has \(available)"
        case let .badMagic(what, found):
            "\(what) blob has magic 0x\(String(found, radix: 16)), not a \(what) blob"
        case let .unsupportedVersion(what, version):
            "\(what) blob version \(version) is not supported by this build"
        case let .invalidField(what, field, value):
            "\(what) blob has invalid \(field) \(value)"
        case let .trailingBytes(what, count):
            "\(what) blob has \(count) unexpected bytes at the end"
        }
    }
}

/// Appends little-endian fixed-width values to a byte array.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { fixed(value) }
    mutating func u32(_ value: UInt32) { fixed(value) }
    mutating func u64(_ value: UInt64) { fixed(value) }
    mutating func f64(_ value: Double) { fixed(value.bitPattern) }
    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }
    mutating func int(_ value: Int) { fixed(UInt64(bitPattern: Int64(value))) }

    mutating func blob(_ value: [UInt8]) {
        u32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    private mutating func fixed<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Reads what `ByteWriter` wrote; every read is bounds-checked and throws instead of trapping.
struct ByteReader {
    let bytes: [UInt8]
    let what: String
    var index = 0

    init<C: Collection>(_ bytes: C, what: String) where C.Element == UInt8 {
        self.bytes = Array(bytes)
        self.what = what
    }

    var remaining: Int { bytes.count - index }

    mutating func u8() throws(GuestBlobError) -> UInt8 { UInt8(try fixed(1)) }
    mutating func u16() throws(GuestBlobError) -> UInt16 { UInt16(try fixed(2)) }
    mutating func u32() throws(GuestBlobError) -> UInt32 { UInt32(try fixed(4)) }
    mutating func u64() throws(GuestBlobError) -> UInt64 { try fixed(8) }
    mutating func f64() throws(GuestBlobError) -> Double { Double(bitPattern: try fixed(8)) }
    mutating func int() throws(GuestBlobError) -> Int { Int(truncatingIfNeeded: Int64(bitPattern: try fixed(8))) }

    mutating func bool(_ field: String) throws(GuestBlobError) -> Bool {
        let value = try u8()
        guard value <= 1 else { throw .invalidField(what: what, field: field, value: UInt64(value)) }
        return value == 1
    }

    mutating func blob() throws(GuestBlobError) -> [UInt8] {
        let count = Int(try u32())
        guard remaining >= count else { throw .truncated(what: what, needed: count, available: remaining) }
        defer { index += count }
        return Array(bytes[index..<index + count])
    }

    func finish() throws(GuestBlobError) {
        guard remaining == 0 else { throw .trailingBytes(what: what, count: remaining) }
    }

    private mutating func fixed(_ width: Int) throws(GuestBlobError) -> UInt64 {
        guard remaining >= width else { throw .truncated(what: what, needed: width, available: remaining) }
        var value: UInt64 = 0
        for offset in (0..<width).reversed() { value = value << 8 | UInt64(bytes[index + offset]) }
        index += width
        return value
    }
}
