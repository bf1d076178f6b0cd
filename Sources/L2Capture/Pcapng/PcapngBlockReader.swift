/// Walks a pcapng file block by block in the byte order its current section header declares,
/// without copying it (the caller keeps the bytes alive while it reads).
struct BlockReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0
    var bigEndian = false

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    func u32(at position: Int) -> UInt32 {
        let value = UInt32(bytes[position]) | UInt32(bytes[position + 1]) << 8 | UInt32(bytes[position + 2]) << 16 | UInt32(bytes[position + 3]) << 24
        return bigEndian ? value.byteSwapped : value
    }

    func peekType() throws(CaptureFormatError) -> UInt32 {
        guard offset + 12 <= bytes.count else {
            throw CaptureFormatError("truncated block at offset \(offset): \(bytes.count - offset) bytes left, a block takes at least 12")
        }
        return u32(at: offset)
    }

    /// Whether the bytes left hold at least the whole block that starts here, as its length claims.
    /// (A section header's length is read in the byte order its own magic declares.)
    var wholeBlockAhead: Bool {
        guard offset + 12 <= bytes.count else { return false }
        var length = u32(at: offset + 4)
        if u32(at: offset) == PcapngBlocks.sectionHeaderType {
            let little = UInt32(bytes[offset + 4]) | UInt32(bytes[offset + 5]) << 8 | UInt32(bytes[offset + 6]) << 16 | UInt32(bytes[offset + 7]) << 24
            length = bytes[offset + 8] == 0x4D ? little : little.byteSwapped
        }
        // A length no block of ours could have is damage, not a block still being written: let the
        // parse report it.
        guard length >= 12, length % 4 == 0, length <= Self.largestPlausibleBlock else { return true }
        return Int(length) <= bytes.count - offset
    }

    /// The longest block a capture of ours holds (a 256 KiB frame, its header and options) with room to spare.
    static let largestPlausibleBlock: UInt32 = 1 << 20

    /// Reads a section header's byte-order magic and takes its order for the section.
    mutating func startSection() throws(CaptureFormatError) {
        guard offset + 12 <= bytes.count else { throw CaptureFormatError("truncated section header at offset \(offset)") }
        let magic = Array(bytes[offset + 8..<offset + 12])
        switch magic {
        case [0x4D, 0x3C, 0x2B, 0x1A]: bigEndian = false
        case [0x1A, 0x2B, 0x3C, 0x4D]: bigEndian = true
        default: throw CaptureFormatError("section header at offset \(offset) has no byte-order magic (found \(magic))")
        }
    }

    /// The next block's body (between the lengths); advances past the block.
    mutating func nextBlock() throws(CaptureFormatError) -> Block {
        let type = u32(at: offset)
        let total = Int(u32(at: offset + 4))
        guard total >= 12, total % 4 == 0, offset + total <= bytes.count else {
            throw CaptureFormatError("block of type \(type) at offset \(offset) claims \(total) bytes; \(bytes.count - offset) are left and a length must be a multiple of 4, at least 12")
        }
        guard Int(u32(at: offset + total - 4)) == total else {
            throw CaptureFormatError("block of type \(type) at offset \(offset): its trailing length differs from its leading length \(total)")
        }
        let block = Block(body: UnsafeRawBufferPointer(rebasing: bytes[offset + 8..<offset + total - 4]), bigEndian: bigEndian)
        offset += total
        return block
    }
}

/// One block's body (a view into the file's bytes; indices from 0) with its section's byte order.
struct Block {
    let body: UnsafeRawBufferPointer
    let bigEndian: Bool

    func need(_ count: Int, at offset: Int) throws(CaptureFormatError) {
        guard body.count >= count else { throw CaptureFormatError("block at offset \(offset) is \(body.count) bytes long; its fields need \(count)") }
    }

    func u16(_ at: Int) -> UInt16 {
        let value = UInt16(body[at]) | UInt16(body[at + 1]) << 8
        return bigEndian ? value.byteSwapped : value
    }

    func u32(_ at: Int) -> UInt32 {
        let value = UInt32(u16(bigEndian ? at + 2 : at)) | UInt32(u16(bigEndian ? at : at + 2)) << 16
        return value
    }

    /// The options from `start` to the end of the body.
    func options(from start: Int) throws(CaptureFormatError) -> OptionList {
        var list = OptionList(bigEndian: bigEndian)
        var at = start
        while at + 4 <= body.count {
            let code = u16(at), length = Int(u16(at + 2))
            if code == PcapngBlocks.Option.endOfOptions { break }
            guard at + 4 + length <= body.count else { throw CaptureFormatError("option \(code) runs past the end of its block") }
            list.entries.append((code, Array(UnsafeRawBufferPointer(rebasing: body[at + 4..<at + 4 + length]))))
            at += 4 + (length + 3) & ~3
        }
        return list
    }
}

/// A block's options by code, in order.
struct OptionList {
    let bigEndian: Bool
    var entries: [(code: UInt16, value: [UInt8])] = []

    func raw(_ code: UInt16) -> [UInt8]? { entries.first { $0.code == code }?.value }
    func all(_ code: UInt16) -> [[UInt8]] { entries.filter { $0.code == code }.map(\.value) }
    func text(_ code: UInt16) -> String? { raw(code).map { String(decoding: $0, as: UTF8.self) } }

    func u32(_ code: UInt16) -> UInt32? {
        guard let value = raw(code), value.count == 4 else { return nil }
        let little = value.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        return bigEndian ? little.byteSwapped : little
    }

    func u64(_ code: UInt16) -> UInt64? {
        guard let value = raw(code), value.count == 8 else { return nil }
        let little = value.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        return bigEndian ? little.byteSwapped : little
    }
}
