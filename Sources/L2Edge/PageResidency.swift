#if canImport(Glibc)
import Glibc
#endif

/// Which pages of this process's memory the kernel has backed, from `/proc/self/pagemap` (one 64-bit
/// entry per page: bit 63 present in RAM, bit 62 swapped out). A page of an anonymous mapping that is
/// neither was never written, so it reads as zero; a migration source can send it as zero without
/// touching it (a read would make the kernel map it).
public enum PageResidency {
    /// One bit per 4 KiB page from `base` (64 pages per word), set when the page is present or
    /// swapped. Nil if the pagemap cannot be read (the caller then reads every page).
    public static func populated(base: UnsafeRawPointer, pageCount: Int) -> [UInt64]? {
        let fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bits = [UInt64](repeating: 0, count: (pageCount + 63) / 64)
        let chunk = 65_536
        let entries = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: chunk)
        defer { entries.deallocate() }
        let firstPage = Int(bitPattern: base) / 4096
        var page = 0
        while page < pageCount {
            let count = min(chunk, pageCount - page)
            let offset = off_t((firstPage + page) * 8)
            let read = pread(fd, entries.baseAddress, count * 8, offset)
            guard read == count * 8 else { return nil }
            for index in 0..<count where entries[index] & (3 << 62) != 0 {
                let at = page + index
                bits[at >> 6] |= 1 << UInt64(at & 63)
            }
            page += count
        }
        return bits
    }
}
