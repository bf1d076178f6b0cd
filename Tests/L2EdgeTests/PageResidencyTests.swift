import Foundation
import L2Edge
import L2Guest
import Testing

@Suite("Page residency")
struct PageResidencyTests {
    @Test("a written page is backed, an untouched region is not, and reading the map touches nothing")
    func writtenPagesAreBacked() throws {
        let memory = try GuestMemory(bytes: 64 << 20)
        let before = try #require(PageResidency.populated(base: UnsafeRawPointer(memory.base), pageCount: memory.pageCount))
        #expect(before.count == memory.pageCount / 64)
        #expect(before.allSatisfy { $0 == 0 }, "fresh anonymous memory is not backed")
        memory.storeUInt64(0xdead_beef, at: 3 * GuestMemory.pageSize)
        let after = try #require(PageResidency.populated(base: UnsafeRawPointer(memory.base), pageCount: memory.pageCount))
        #expect(after[0] & (1 << 3) != 0, "the written page is backed")
        // The last 2 MiB lie in another huge page than page 3 whatever the alignment: still unbacked.
        let last = memory.pageCount - 1
        #expect(after[last >> 6] & (1 << UInt64(last & 63)) == 0)
        #expect(after.map(\.nonzeroBitCount).reduce(0, +) <= 1024, "at most the huge pages around page 3")
    }

    @Test("a never-written page that was only read (the shared zero page) does not count as backed")
    func readPagesAreNotBacked() throws {
        let memory = try GuestMemory(bytes: 64 << 20)
        // Root sees frame numbers (CI runs as root); without them the zero page cannot be told apart.
        let privileged = getuid() == 0
        if privileged || ProcessInfo.processInfo.environment["CI"] == "true" {
            #expect(PageResidency.zeroPageFrame != nil, "root must see the zero page's frame in /proc/self/pagemap")
        }
        let far = memory.pageCount - 1
        #expect(memory.isZeroPage(far), "the page reads as zero")  // maps the zero page there
        memory.storeUInt64(0xdead_beef, at: 3 * GuestMemory.pageSize)
        let map = try #require(PageResidency.populated(base: UnsafeRawPointer(memory.base), pageCount: memory.pageCount))
        #expect(map[0] & (1 << 3) != 0, "the written page is backed")
        if PageResidency.zeroPageFrame != nil {
            #expect(map[far >> 6] & (1 << UInt64(far & 63)) == 0, "the read page maps the zero page: not backed")
        }
    }
}
