#if canImport(Glibc)
import Glibc
#endif

/// Why guest memory could not be created.
public enum GuestMemoryError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidSize(bytes: Int)
    case mappingFailed(bytes: Int, errno: Int32)

    public var description: String {
        switch self {
        case let .invalidSize(bytes):
            "guest memory of \(bytes) bytes is not a positive multiple of \(GuestMemory.pageSize)"
        case let .mappingFailed(bytes, errno):
            "could not reserve \(bytes) bytes of guest memory (errno \(errno)); lower the VM's memory size"
        }
    }
}

/// A VM's RAM: `pageCount` pages of 4 KiB in one anonymous private mapping (pages cost only when
/// touched), with per-page dirty tracking. Every write through this type marks its page dirty after
/// the bytes land; `storePage` (used by a migration destination) writes without marking.
///
/// Thread safety: concurrent writers to different bytes are fine; the dirty bitmap is atomic.
/// Readers may see a page mid-write; the dirty bit then makes the migration send it again.
public final class GuestMemory: @unchecked Sendable {
    public static let pageSize = 4096
    public static let pageShift = 12

    public let pageCount: Int
    public let dirty: DirtyBitmap
    public let base: UnsafeMutableRawPointer

    public var byteCount: Int { pageCount * Self.pageSize }

    public init(bytes: Int) throws(GuestMemoryError) {
        guard bytes > 0, bytes % Self.pageSize == 0 else { throw .invalidSize(bytes: bytes) }
        let mapping = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let mapping, mapping != MAP_FAILED else { throw .mappingFailed(bytes: bytes, errno: errno) }
        // 4 KiB pages whatever the system's transparent-huge-page setting: with `always`, one written
        // byte would back 2 MiB and a read would map the huge zero page, and a migration source could
        // no longer tell never-backed pages from the pagemap (it would read and check them instead).
        _ = madvise(mapping, bytes, MADV_NOHUGEPAGE)
        base = mapping
        pageCount = bytes / Self.pageSize
        dirty = DirtyBitmap(pageCount: pageCount)
    }

    public convenience init(pageCount: Int) throws(GuestMemoryError) {
        try self.init(bytes: pageCount * Self.pageSize)
    }

    deinit { munmap(base, byteCount) }

    @inline(__always)
    public func pointer(toPage page: Int) -> UnsafeMutableRawPointer {
        precondition(page >= 0 && page < pageCount, "page \(page) outside guest memory of \(pageCount) pages")
        return base + (page << Self.pageShift)
    }

    /// Reads the bytes of one page.
    public func withPage<R>(_ page: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: pointer(toPage: page), count: Self.pageSize))
    }

    /// Copies `bytes` to `offset` within the guest's address space and marks the pages dirty.
    public func write(at offset: Int, bytes: UnsafeRawBufferPointer) {
        precondition(offset >= 0 && offset + bytes.count <= byteCount, "write outside guest memory")
        guard bytes.count > 0 else { return }
        (base + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        markDirty(offset: offset, count: bytes.count)
    }

    public func write(at offset: Int, bytes: [UInt8]) {
        bytes.withUnsafeBytes { write(at: offset, bytes: $0) }
    }

    /// Copies `count` bytes from `offset` within the guest's address space.
    public func read(at offset: Int, count: Int) -> [UInt8] {
        precondition(offset >= 0 && count >= 0 && offset + count <= byteCount, "read outside guest memory")
        return [UInt8](UnsafeRawBufferPointer(start: base + offset, count: count))
    }

    /// Loads a little-endian 64-bit value at an 8-byte aligned guest offset.
    public func loadUInt64(at offset: Int) -> UInt64 {
        precondition(offset >= 0 && offset + 8 <= byteCount && offset % 8 == 0, "unaligned or outside load")
        return UInt64(littleEndian: (base + offset).load(as: UInt64.self))
    }

    /// Stores a little-endian 64-bit value at an 8-byte aligned guest offset and marks its page dirty.
    public func storeUInt64(_ value: UInt64, at offset: Int) {
        precondition(offset >= 0 && offset + 8 <= byteCount && offset % 8 == 0, "unaligned or outside store")
        (base + offset).storeBytes(of: value.littleEndian, as: UInt64.self)
        dirty.mark(offset >> Self.pageShift)
    }

    /// Writes a whole page without marking it dirty: a migration destination filling its copy.
    public func storePage(_ page: Int, from bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == Self.pageSize, "a page is \(Self.pageSize) bytes")
        pointer(toPage: page).copyMemory(from: bytes.baseAddress!, byteCount: Self.pageSize)
    }

    /// Makes a page read as zero without marking it dirty.
    public func zeroPage(_ page: Int) {
        pointer(toPage: page).initializeMemory(as: UInt8.self, repeating: 0, count: Self.pageSize)
    }

    /// True if every byte of the page is zero.
    public func isZeroPage(_ page: Int) -> Bool {
        PageHash.isZero(UnsafeRawPointer(pointer(toPage: page)))
    }

    /// The hash of one page's current bytes.
    public func pageHash(_ page: Int) -> UInt64 {
        PageHash.hash(UnsafeRawPointer(pointer(toPage: page)))
    }

    private func markDirty(offset: Int, count: Int) {
        let first = offset >> Self.pageShift
        let last = (offset + count - 1) >> Self.pageShift
        for page in first...last { dirty.mark(page) }
    }
}
