import L2Wire

/// The deterministic byte stream `GET /bytes/N` serves: byte `i` is byte `i % 8` (little-endian) of
/// SplitMix64's output for state `i / 8`, so a client can check any download against it byte for
/// byte, and a reordered or repeated segment never matches by accident.
public enum PatternStream {
    /// The eight bytes starting at a multiple of eight, as one little-endian word.
    @inline(__always)
    public static func word(at index: UInt64) -> UInt64 {
        var generator = SplitMix64(seed: (index >> 3) &* 0x9E37_79B9_7F4A_7C15)
        return generator.next()
    }

    /// Byte `index` of the stream.
    @inline(__always)
    public static func byte(at index: UInt64) -> UInt8 {
        UInt8(truncatingIfNeeded: word(at: index) >> ((index & 7) * 8))
    }

    /// Writes `buffer.count` bytes of the stream starting at `offset` into `buffer`.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer, from offset: UInt64) {
        var index = offset
        var position = 0
        while position < buffer.count {
            let word = word(at: index)
            var shift = (index & 7) * 8
            while shift < 64, position < buffer.count {
                buffer[position] = UInt8(truncatingIfNeeded: word >> shift)
                shift += 8
                position += 1
                index += 1
            }
        }
    }

    /// `count` bytes of the stream starting at `offset`.
    public static func bytes(from offset: UInt64, count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(UnsafeMutableRawBufferPointer(buffer), from: offset)
            initialized = count
        }
    }
}
