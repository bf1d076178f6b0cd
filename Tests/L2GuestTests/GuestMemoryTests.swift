import Foundation
import Synchronization
import Testing
@testable import L2Guest

@Suite struct GuestMemoryTests {
    @Test func writesMarkExactlyTheTouchedPages() throws {
        let memory = try GuestMemory(pageCount: 64)
        #expect(memory.dirty.dirtyCount == 0)
        memory.write(at: 4090, bytes: [1, 2, 3, 4, 5, 6, 7, 8]) // straddles pages 0 and 1
        memory.storeUInt64(0xDEAD_BEEF, at: 10 * 4096 + 8)
        #expect(memory.dirty.takeAll() == [0, 1, 10])
        #expect(memory.dirty.dirtyCount == 0)
        #expect(memory.loadUInt64(at: 10 * 4096 + 8) == 0xDEAD_BEEF)
        #expect(!memory.isZeroPage(1))
        #expect(memory.isZeroPage(2))
    }

    @Test func storePageDoesNotMarkAndDigestFollowsContent() throws {
        let a = try GuestMemory(pageCount: 8)
        let b = try GuestMemory(pageCount: 8)
        a.storeUInt64(7, at: 3 * 4096)
        a.withPage(3) { b.storePage(3, from: $0) }
        #expect(b.dirty.dirtyCount == 0)
        #expect(a.digest() == b.digest())
        b.storeUInt64(8, at: 3 * 4096)
        #expect(a.digest() != b.digest())
        b.zeroPage(3)
        #expect(b.pageHash(3) == PageHash.zeroPage)
    }

    /// Writers on several threads, a copier taking the bitmap and copying pages meanwhile; after a
    /// final take-and-copy the copy must equal memory byte for byte (no lost dirty bit).
    @Test func concurrentWritersLoseNoDirtyBit() throws {
        let pageCount = 64 + 3 * 128 // shared pages + three private ranges
        let memory = try GuestMemory(pageCount: pageCount)
        let shadow = ShadowCopy(pageCount: pageCount)
        let writersDone = Atomic<Int>(0)
        let copyRounds = Atomic<Int>(0)
        let writerCount = 3
        let group = DispatchGroup()

        for writer in 0..<writerCount {
            group.enter()
            Thread {
                var random = GuestRandom(seed: UInt64(writer) + 1)
                for step in 0..<60_000 {
                    // Even steps: a page of this writer's own range; odd: the shared range, in this
                    // writer's own 8-byte slots (different bytes, same pages as the other writers).
                    let page = step % 2 == 0
                        ? 64 + writer * 128 + random.next(below: 128)
                        : random.next(below: 64)
                    let slot = (random.next(below: 512 / writerCount) * writerCount + writer) * 8
                    memory.storeUInt64(random.next() | 1, at: page * 4096 + slot)
                }
                writersDone.add(1, ordering: .releasing)
                group.leave()
            }.start()
        }
        group.enter()
        Thread {
            while writersDone.load(ordering: .acquiring) < writerCount {
                shadow.copyDirty(from: memory)
                copyRounds.add(1, ordering: .relaxed)
            }
            group.leave()
        }.start()
        group.wait()

        #expect(copyRounds.load(ordering: .relaxed) > 0)
        shadow.copyDirty(from: memory)
        #expect(memory.dirty.dirtyCount == 0)
        for page in 0..<pageCount {
            let same = memory.withPage(page) { shadow.page(page).elementsEqual($0) }
            #expect(same, "page \(page) differs from its copy: a dirty bit was lost")
            if !same { break }
        }
        #expect(memory.nonZeroPageCount() == pageCount)
    }

    @Test("given the backed pages, the touched-page count reads only those")
    func nonZeroCountOfBackedPages() throws {
        let memory = try GuestMemory(pageCount: 256)
        memory.storeUInt64(1, at: 3 * 4096)
        memory.storeUInt64(1, at: 70 * 4096)
        #expect(memory.nonZeroPageCount() == 2)
        // Page 5 is backed but zero; page 70 has data but is left out of the map, so it is not read.
        var backed = [UInt64](repeating: 0, count: 4)
        backed[0] = 1 << 3 | 1 << 5
        #expect(memory.nonZeroPageCount(backed: backed) == 1)
        backed[1] = 1 << 6
        #expect(memory.nonZeroPageCount(backed: backed) == 2)
        #expect(memory.nonZeroPageCount(backed: [1]) == 2, "a map of the wrong size is ignored: every page is read")
    }
}

/// A destination's copy of guest memory, filled only from dirty pages.
final class ShadowCopy: @unchecked Sendable {
    private var bytes: [UInt8]
    init(pageCount: Int) { bytes = Array(repeating: 0, count: pageCount * 4096) }

    func copyDirty(from memory: GuestMemory) {
        for word in 0..<memory.dirty.wordsCount {
            var bits = memory.dirty.takeWord(word)
            while bits != 0 {
                let page = word * 64 + bits.trailingZeroBitCount
                bits &= bits - 1
                memory.withPage(page) { source in
                    bytes.withUnsafeMutableBytes { target in
                        (target.baseAddress! + page * 4096).copyMemory(from: source.baseAddress!, byteCount: 4096)
                    }
                }
            }
        }
    }

    func page(_ page: Int) -> ArraySlice<UInt8> { bytes[page * 4096..<(page + 1) * 4096] }
}

@Suite("Page hash digest")
struct PageDigestTests {
    @Test("the running digest follows every change to what a full recomputation gives; position matters",
          arguments: [1, 3, 64, 1023])
    func runningDigestFollowsChanges(count: Int) {
        var generator = GuestRandom(seed: UInt64(count))
        var hashes = [UInt64](repeating: PageHash.zeroPage, count: count)
        var running = PageHash.Running()
        #expect(running.value == 0 && PageHash.Running.of(hashes) == 0, "all-zero memory digests to 0")
        for _ in 0..<(count * 3) {
            let page = Int.random(in: 0..<count, using: &generator)
            let new = Bool.random(using: &generator) ? PageHash.zeroPage : UInt64.random(in: 0...UInt64.max, using: &generator)
            running.replace(page: page, old: hashes[page], new: new)
            hashes[page] = new
            #expect(running.value == PageHash.Running.of(hashes))
        }
        guard count >= 2 else { return }
        var moved = [UInt64](repeating: PageHash.zeroPage, count: count)
        moved[0] = 42
        var other = moved
        other.swapAt(0, 1)
        #expect(PageHash.Running.of(moved) != PageHash.Running.of(other), "a hash at another page is another digest")
    }

    @Test("the memory digest depends on order and length")
    func memoryDigestOrder() {
        let hashes: [UInt64] = [1, 2, 3, 4, 5]
        #expect(PageHash.digest(of: hashes) != PageHash.digest(of: [2, 1, 3, 4, 5]))
        #expect(PageHash.digest(of: hashes) != PageHash.digest(of: hashes.dropLast()))
    }
}
