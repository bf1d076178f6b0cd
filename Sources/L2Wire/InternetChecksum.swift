/// The Internet checksum of RFC 1071: the ones' complement of the ones' complement sum of 16-bit words.
///
/// An accumulator, so a checksum can span a pseudo-header, a header and a payload held in different
/// buffers. Bytes are summed two at a time from contiguous storage with no allocation; an odd byte at
/// the end of one `add` call pairs with the first byte of the next, as if the inputs were concatenated.
///
/// ```swift
/// var sum = InternetChecksum()
/// sum.add([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])
/// sum.value  // 0x220d (RFC 1071, section 3)
/// ```
public struct InternetChecksum: Hashable, Sendable {
    @usableFromInline var sum: UInt64 = 0
    @usableFromInline var odd = false

    /// An empty accumulator.
    public init() {}

    /// The checksum of `bytes`.
    @inlinable
    public static func compute<C: Collection>(_ bytes: C) -> UInt16 where C.Element == UInt8 {
        var checksum = InternetChecksum()
        checksum.add(bytes)
        return checksum.value
    }

    /// An accumulator preloaded with the IPv4 pseudo-header used by UDP and TCP (RFC 768, RFC 793):
    /// source, destination, a zero byte, the protocol, and the transport length.
    @inlinable
    public static func pseudoHeader(source: IPv4Address, destination: IPv4Address,
                                    protocol proto: IPProtocol, length: UInt16) -> InternetChecksum {
        var checksum = InternetChecksum()
        checksum.add(word: UInt16(truncatingIfNeeded: source.rawValue >> 16))
        checksum.add(word: UInt16(truncatingIfNeeded: source.rawValue))
        checksum.add(word: UInt16(truncatingIfNeeded: destination.rawValue >> 16))
        checksum.add(word: UInt16(truncatingIfNeeded: destination.rawValue))
        checksum.add(word: UInt16(proto.rawValue))
        checksum.add(word: length)
        return checksum
    }

    /// An accumulator preloaded with the IPv6 pseudo-header used by UDP, TCP and ICMPv6 (RFC 8200
    /// section 8.1): source, destination, the 32-bit upper-layer length, three zero bytes and the next header.
    @inlinable
    public static func pseudoHeader(source: IPv6Address, destination: IPv6Address,
                                    protocol proto: IPProtocol, length: UInt32) -> InternetChecksum {
        var checksum = InternetChecksum()
        for half in [source.high, source.low, destination.high, destination.low] {
            for shift in stride(from: 48, through: 0, by: -16) { checksum.add(word: UInt16(truncatingIfNeeded: half >> UInt64(shift))) }
        }
        checksum.add(word: UInt16(truncatingIfNeeded: length >> 16))
        checksum.add(word: UInt16(truncatingIfNeeded: length))
        checksum.add(word: UInt16(proto.rawValue))
        return checksum
    }

    /// Adds one 16-bit word in host order. Must not be called while an odd byte is pending.
    @inlinable
    public mutating func add(word: UInt16) {
        precondition(!odd, "InternetChecksum.add(word:) after an odd number of bytes")
        sum &+= UInt64(word)
    }

    /// Adds bytes as if appended to everything added so far.
    @inlinable
    public mutating func add<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        var state = (sum, odd)
        if bytes.withContiguousStorageIfAvailable({ state = Self.accumulate($0, sum: state.0, odd: state.1) }) == nil {
            for byte in bytes {
                if state.1 { state.0 &+= UInt64(byte) } else { state.0 &+= UInt64(byte) << 8 }
                state.1.toggle()
            }
        }
        (sum, odd) = state
    }

    @inlinable
    static func accumulate(_ buffer: UnsafeBufferPointer<UInt8>, sum: UInt64, odd: Bool) -> (UInt64, Bool) {
        var sum = sum
        var pending = odd
        var i = 0
        let n = buffer.count
        if pending, n > 0 {
            sum &+= UInt64(buffer[0])
            i = 1
            pending = false
        }
        // Four bytes per step; the 64-bit accumulator cannot overflow for any input that fits in memory.
        while i + 3 < n {
            sum &+= UInt64(buffer[i]) << 8 | UInt64(buffer[i + 1])
            sum &+= UInt64(buffer[i + 2]) << 8 | UInt64(buffer[i + 3])
            i += 4
        }
        while i + 1 < n {
            sum &+= UInt64(buffer[i]) << 8 | UInt64(buffer[i + 1])
            i += 2
        }
        if i < n {
            sum &+= UInt64(buffer[i]) << 8
            pending = true
        }
        return (sum, pending)
    }

    /// The ones' complement sum folded to 16 bits (before the final complement).
    @inlinable
    public var foldedSum: UInt16 {
        var s = sum
        while s > 0xFFFF { s = (s & 0xFFFF) &+ (s >> 16) }
        return UInt16(truncatingIfNeeded: s)
    }

    /// The checksum: the complement of `foldedSum`. Over data that already contains a correct
    /// checksum field this is zero.
    @inlinable
    public var value: UInt16 { ~foldedSum }
}
