/// How QEMU's `-netdev stream` (and `-netdev socket`) delimits frames on a byte stream: each frame
/// preceded by its length as a 4-byte big-endian number, with no virtio-net header. A read from the
/// stream may hold several frames, or part of one; `next(in:limit:)` says what the bytes received so
/// far start with.
public enum LengthPrefixedFraming {
    public static let prefixLength = 4

    /// What the start of the received bytes holds.
    public enum Next: Equatable, Sendable {
        /// A whole frame at `range` (after its length); the next one starts at `range.upperBound`.
        case frame(Range<Int>)
        /// Not a whole frame yet: read more.
        case incomplete
        /// A length of 0 or more than `limit`: the stream is not carrying frames this side can take
        /// (a broken or hostile peer). Nothing after it can be trusted to start a frame.
        case invalidLength(UInt32)
    }

    /// Looks at `bytes` (the received bytes not consumed yet).
    public static func next(in bytes: UnsafeRawBufferPointer, limit: Int) -> Next {
        guard bytes.count >= prefixLength else { return .incomplete }
        let length = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        guard length > 0, Int(length) <= limit else { return .invalidLength(length) }
        let end = prefixLength + Int(length)
        guard bytes.count >= end else { return .incomplete }
        return .frame(prefixLength..<end)
    }

    /// The 4-byte prefix for a frame of `length` bytes.
    public static func prefix(for length: Int) -> (UInt8, UInt8, UInt8, UInt8) {
        let value = UInt32(truncatingIfNeeded: length)
        return (UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value))
    }
}
