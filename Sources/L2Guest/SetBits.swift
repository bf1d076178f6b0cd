extension UInt64 {
    /// Calls `body` with the position (0–63) of each set bit, lowest first: the walk over a word of a
    /// page bitmap (dirty pages, backed pages, stored pages), one step per set bit.
    @inline(__always)
    public func forEachSetBit(_ body: (Int) throws -> Void) rethrows {
        var rest = self
        while rest != 0 {
            try body(rest.trailingZeroBitCount)
            rest &= rest - 1
        }
    }
}
