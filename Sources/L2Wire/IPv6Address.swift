/// An IPv6 address as two 64-bit halves in host order (`high` holds bytes 0–7 of the wire form).
public struct IPv6Address: Hashable, Sendable, Comparable {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Reads sixteen bytes (network order) starting at `index`; the caller has checked the bounds.
    @inlinable
    public init<C: Collection>(bytes: C, at index: C.Index) where C.Element == UInt8 {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var i = index
        for n in 0..<16 {
            if n < 8 { high = high << 8 | UInt64(bytes[i]) } else { low = low << 8 | UInt64(bytes[i]) }
            bytes.formIndex(after: &i)
        }
        self.high = high
        self.low = low
    }

    /// `::`, the unspecified address.
    public static let unspecified = IPv6Address(high: 0, low: 0)

    /// The sixteen bytes in network order.
    public var bytes: [UInt8] {
        (0..<16).map { n in UInt8(truncatingIfNeeded: (n < 8 ? high : low) >> UInt64(56 - 8 * (n % 8))) }
    }

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }
}
