/// A fast 64-bit hash of one 4 KiB page and a digest over all of a VM's page hashes.
///
/// Not cryptographic: it proves a copy exact against accidental loss or corruption (the stream is
/// authenticated separately). Four independent multiply-rotate lanes over 64-bit words keep it near
/// memory speed; each lane's result is mixed with a 64-bit finaliser.
public enum PageHash {
    @usableFromInline static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    @usableFromInline static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    @usableFromInline static let prime3: UInt64 = 0x1656_67B1_9E37_79F9

    /// The hash every all-zero page has.
    public static let zeroPage: UInt64 = {
        let page = UnsafeMutableRawPointer.allocate(byteCount: GuestMemory.pageSize, alignment: 64)
        defer { page.deallocate() }
        page.initializeMemory(as: UInt8.self, repeating: 0, count: GuestMemory.pageSize)
        return hash(UnsafeRawPointer(page))
    }()

    @inlinable @inline(__always)
    static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        var value = accumulator &+ input &* prime2
        value = (value << 31) | (value >> 33)
        return value &* prime1
    }

    @inlinable @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33
        h = h &* prime2
        h ^= h >> 29
        h = h &* prime3
        h ^= h >> 32
        return h
    }

    /// Hashes the 4096 bytes at `page`.
    public static func hash(_ page: UnsafeRawPointer) -> UInt64 {
        var a: UInt64 = prime1 &+ prime2
        var b: UInt64 = prime2
        var c: UInt64 = 0
        var d: UInt64 = 0 &- prime1
        var offset = 0
        while offset < GuestMemory.pageSize {
            a = round(a, page.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            b = round(b, page.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
            c = round(c, page.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self))
            d = round(d, page.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self))
            offset += 32
        }
        let folded = ((a << 1) | (a >> 63)) &+ ((b << 7) | (b >> 57)) &+ ((c << 12) | (c >> 52)) &+ ((d << 18) | (d >> 46))
        return mix(folded ^ UInt64(GuestMemory.pageSize))
    }

    /// True if the 4096 bytes at `page` are all zero.
    public static func isZero(_ page: UnsafeRawPointer) -> Bool {
        var offset = 0
        var accumulator: UInt64 = 0
        while offset < GuestMemory.pageSize {
            accumulator |= page.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                | page.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
                | page.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)
                | page.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)
            if accumulator != 0 { return false }
            offset += 32
        }
        return true
    }

    /// Folds an ordered list of page hashes into one digest (order matters: page i is hash i). For
    /// comparing whole memories (tests, reports); a migration keeps a `Running` digest instead.
    @inlinable
    public static func digest<S: Sequence>(of pageHashes: S) -> UInt64 where S.Element == UInt64 {
        var h: UInt64 = prime3
        var index: UInt64 = 0
        for value in pageHashes {
            h = round(h, value ^ (index &* prime1))
            index &+= 1
        }
        return mix(h ^ index)
    }

    /// A digest of a VM's page hashes that follows each change in constant time, so a migration
    /// never folds all of them inside the stun: the wrapping sum over pages of a mix of the page's
    /// index and hash. All-zero pages add nothing, so fresh memory and a fresh hash table both start
    /// at 0. Each term binds its page index, so a page stored at the wrong place changes the sum.
    public struct Running: Hashable, Sendable {
        public var value: UInt64 { sum }
        @usableFromInline var sum: UInt64 = 0

        public init() {}

        @inlinable @inline(__always)
        static func term(page: Int, hash: UInt64) -> UInt64 {
            hash == PageHash.zeroPage ? 0 : mix(hash ^ (UInt64(page) &* prime1) &+ prime3)
        }

        /// Page `page` now hashes to `new` instead of `old`.
        @inlinable @inline(__always)
        public mutating func replace(page: Int, old: UInt64, new: UInt64) {
            sum = sum &- Self.term(page: page, hash: old) &+ Self.term(page: page, hash: new)
        }

        /// The digest of a whole list of page hashes (page i is hash i), computed from scratch.
        public static func of(_ pageHashes: [UInt64]) -> UInt64 {
            var running = Running()
            for (page, hash) in pageHashes.enumerated() { running.replace(page: page, old: PageHash.zeroPage, new: hash) }
            return running.value
        }
    }

}

extension GuestMemory {
    /// Hashes every page now: the memory's digest. About memory speed; for a frozen VM only.
    public func digest() -> UInt64 {
        PageHash.digest(of: (0..<pageCount).lazy.map { self.pageHash($0) })
    }
}
