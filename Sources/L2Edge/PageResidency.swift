#if canImport(Glibc)
import Glibc
#endif

/// Which pages of this process's memory hold data the kernel backed, from `/proc/self/pagemap` (one
/// 64-bit entry per page: bit 63 present in RAM, bit 62 swapped out, bits 0–54 the page frame). A page
/// of an anonymous mapping that is neither was never written, so it reads as zero; a migration source
/// can send it as zero without touching it.
///
/// Reading a page that was never written maps the kernel's shared zero page there, which the pagemap
/// also shows as present: a statistics scan or a reader would make every page look backed. When the
/// frame numbers are visible (root, as hosts run), entries that point at the zero page count as not
/// backed too.
public enum PageResidency {
    /// Bits 0–54 of a pagemap entry: the page frame number (0 when hidden from unprivileged readers).
    private static let frameMask: UInt64 = (1 << 55) - 1

    /// The frame number of the kernel's shared zero page, or nil if the pagemap hides frame numbers.
    public static let zeroPageFrame: UInt64? = {
        guard let page = mmap(nil, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), page != MAP_FAILED else { return nil }
        defer { munmap(page, 4096) }
        // A read fault on a never-written private page maps the zero page (`mincore` would not fault).
        var byte: UInt8 = 0
        withUnsafeMutableBytes(of: &byte) { _ = memcpy($0.baseAddress!, page, 1) }
        guard byte == 0, let entry = entries(at: Int(bitPattern: page) / 4096, count: 1)?.first else { return nil }
        let frame = entry & frameMask
        return entry & (1 << 63) != 0 && frame != 0 ? frame : nil
    }()

    /// One bit per 4 KiB page from `base` (64 pages per word), set when the page is present or swapped,
    /// unless it is the shared zero page. Nil if the pagemap cannot be read (the caller then reads every
    /// page).
    public static func populated(base: UnsafeRawPointer, pageCount: Int) -> [UInt64]? {
        let fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bits = [UInt64](repeating: 0, count: (pageCount + 63) / 64)
        let chunk = 65_536
        let entries = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: chunk)
        defer { entries.deallocate() }
        let zero = zeroPageFrame ?? .max
        let firstPage = Int(bitPattern: base) / 4096
        var page = 0
        while page < pageCount {
            let count = min(chunk, pageCount - page)
            let offset = off_t((firstPage + page) * 8)
            let read = pread(fd, entries.baseAddress, count * 8, offset)
            guard read == count * 8 else { return nil }
            for index in 0..<count {
                let entry = entries[index]
                let swapped = entry & (1 << 62) != 0
                let present = entry & (1 << 63) != 0 && entry & frameMask != zero
                guard swapped || present else { continue }
                let at = page + index
                bits[at >> 6] |= 1 << UInt64(at & 63)
            }
            page += count
        }
        return bits
    }

    /// One bit per 4 KiB page from `base` (64 pages per word), set when the page is in RAM now
    /// (`mincore`: a swapped-out page is not). Much cheaper than the pagemap; nil if it fails. `base`
    /// must be page-aligned.
    public static func inMemory(base: UnsafeRawPointer, pageCount: Int) -> [UInt64]? {
        var vector = [UInt8](repeating: 0, count: pageCount)
        let status = vector.withUnsafeMutableBufferPointer {
            mincore(UnsafeMutableRawPointer(mutating: base), pageCount * 4096, $0.baseAddress)
        }
        guard status == 0 else { return nil }
        var bits = [UInt64](repeating: 0, count: (pageCount + 63) / 64)
        for (page, flags) in vector.enumerated() where flags & 1 != 0 { bits[page >> 6] |= 1 << UInt64(page & 63) }
        return bits
    }

    /// `count` raw pagemap entries from virtual page `page` on, nil if they cannot be read.
    private static func entries(at page: Int, count: Int) -> [UInt64]? {
        let fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var values = [UInt64](repeating: 0, count: count)
        let read = values.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count * 8, off_t(page * 8)) }
        return read == count * 8 ? values : nil
    }
}
