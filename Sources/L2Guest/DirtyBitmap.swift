import Synchronization

/// One bit per guest page, set after each write and cleared by the migration with an atomic
/// test-and-clear, so a write racing with a copy is never lost: either the copy sees the new bytes,
/// or the bit stays set and the page goes again in the next round.
public final class DirtyBitmap: Sendable {
    public let pageCount: Int
    private let wordCount: Int
    private nonisolated(unsafe) let words: UnsafeMutablePointer<Atomic<UInt64>>

    public init(pageCount: Int) {
        precondition(pageCount >= 0)
        self.pageCount = pageCount
        wordCount = (pageCount + 63) / 64
        words = .allocate(capacity: max(wordCount, 1))
        for index in 0..<max(wordCount, 1) {
            (words + index).initialize(to: Atomic<UInt64>(0))
        }
    }

    deinit {
        words.deinitialize(count: max(wordCount, 1))
        words.deallocate()
    }

    /// Marks `page` dirty. Call after the write has landed (release ordering publishes it).
    @inline(__always)
    public func mark(_ page: Int) {
        words[page >> 6].bitwiseOr(1 << UInt64(page & 63), ordering: .releasing)
    }

    /// Marks every page dirty (used when tracking starts: the first round sends everything).
    public func markAll() {
        for index in 0..<wordCount {
            let remaining = pageCount - index * 64
            let mask: UInt64 = remaining >= 64 ? .max : (1 << UInt64(remaining)) - 1
            words[index].store(mask, ordering: .releasing)
        }
    }

    public func clearAll() {
        for index in 0..<wordCount { words[index].store(0, ordering: .releasing) }
    }

    public func isDirty(_ page: Int) -> Bool {
        words[page >> 6].load(ordering: .acquiring) & (1 << UInt64(page & 63)) != 0
    }

    /// Atomically takes the dirty bits of the 64 pages in word `index` and clears them.
    /// Bit i of the result stands for page `index * 64 + i`.
    @inline(__always)
    public func takeWord(_ index: Int) -> UInt64 {
        words[index].exchange(0, ordering: .acquiringAndReleasing)
    }

    public var wordsCount: Int { wordCount }

    /// Atomically takes every dirty page, in ascending order, clearing the bitmap.
    public func takeAll() -> [Int] {
        var pages: [Int] = []
        for index in 0..<wordCount {
            takeWord(index).forEachSetBit { pages.append(index * 64 + $0) }
        }
        return pages
    }

    /// How many pages are dirty now (a snapshot; writers may add more meanwhile).
    public var dirtyCount: Int {
        var count = 0
        for index in 0..<wordCount { count += words[index].load(ordering: .relaxed).nonzeroBitCount }
        return count
    }
}
