/// What the power-on fill wrote.
public struct MemoryFillResult: Hashable, Sendable {
    /// The pages filled with non-zero data.
    public var pages: Range<Int>
}

extension GuestMemory {
    /// Fills `mebibytes` of data pages (from `GuestLayout.firstDataPage`) with non-zero pseudo-random
    /// bytes derived from `seed`, marking them dirty; everything else is left as it is (zero on a fresh
    /// VM). Clamped to the data pages there are (they end where the network region starts). Same seed, same bytes.
    ///
    /// Each page starts with its page number with the top bit set, so no filled page is ever zero.
    @discardableResult
    public func fillPseudoRandom(mebibytes: Int, seed: UInt64) -> MemoryFillResult {
        let wanted = max(0, mebibytes) * (1_048_576 / Self.pageSize)
        let end = GuestLayout.dataEnd(pageCount: pageCount)
        let first = min(GuestLayout.firstDataPage, end)
        let pages = first..<min(end, first + wanted)
        var random = GuestRandom(seed: seed ^ 0xF111_F111_F111_F111)
        let words = Self.pageSize / 8
        for page in pages {
            let pointer = pointer(toPage: page).assumingMemoryBound(to: UInt64.self)
            pointer[0] = (UInt64(page) | 1 << 63).littleEndian
            for word in 1..<words { pointer[word] = random.next().littleEndian }
            dirty.mark(page)
        }
        return MemoryFillResult(pages: pages)
    }

    /// Counts pages holding any non-zero byte: for statistics on request. Reads every page, or, given
    /// which pages the kernel backed (one bit per page), only those: the others are zero, and reading
    /// them would map the zero page there for nothing.
    public func nonZeroPageCount(backed: [UInt64]? = nil) -> Int {
        var count = 0
        guard let backed, backed.count == (pageCount + 63) / 64 else {
            for page in 0..<pageCount where !isZeroPage(page) { count += 1 }
            return count
        }
        for (word, bits) in backed.enumerated() {
            bits.forEachSetBit { bit in
                let page = word << 6 + bit
                if page < pageCount && !isZeroPage(page) { count += 1 }
            }
        }
        return count
    }
}
