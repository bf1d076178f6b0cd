/// Byte helpers the text protocols share (ASCII only; no Foundation).
enum ServiceBytes {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let crlf: [UInt8] = [cr, lf]

    /// The index of the first `\r\n` at or after `from`, or nil.
    static func firstCRLF(in bytes: ArraySlice<UInt8>, from: Int) -> Int? {
        var index = from
        while index + 1 < bytes.endIndex {
            if bytes[index] == cr, bytes[index + 1] == lf { return index }
            index += 1
        }
        return nil
    }

    /// A strict signed decimal (Redis's `string2ll`): optional `-`, no `+`, no spaces, no leading
    /// zeros (`0` alone is fine, `-0` is not), within `Int64`.
    static func strictInteger(_ bytes: ArraySlice<UInt8>) -> Int64? {
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        if bytes.count == 1, bytes.first == UInt8(ascii: "0") { return 0 }
        var index = bytes.startIndex
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < bytes.endIndex, (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(bytes[index]) else { return nil }
        var magnitude: UInt64 = 0
        while index < bytes.endIndex {
            let byte = bytes[index]
            guard isDigit(byte) else { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
            index += 1
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// Unsigned decimal digits only (leading zeros allowed), at most `limit`; nil otherwise.
    static func unsignedDecimal(_ bytes: ArraySlice<UInt8>, limit: UInt64) -> UInt64? {
        guard !bytes.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            guard isDigit(byte) else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2, sum <= limit else { return nil }
            value = sum
        }
        return value
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    /// ASCII case-insensitive equality with a lowercase literal.
    static func equalsIgnoringCase(_ bytes: some Collection<UInt8>, _ lowercase: String) -> Bool {
        bytes.count == lowercase.utf8.count && zip(bytes, lowercase.utf8).allSatisfy { lowercased($0) == $1 }
    }

    static func text(_ bytes: some Collection<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
}
