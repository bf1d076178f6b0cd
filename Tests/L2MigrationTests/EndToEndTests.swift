#if canImport(Glibc)
import Glibc
#endif
import Foundation
import L2Guest
import Synchronization
import Testing
@testable import L2Migration

func memoriesEqual(_ a: GuestMemory, _ b: GuestMemory?) -> Bool {
    guard let b, a.byteCount == b.byteCount else { return false }
    return memcmp(a.base, b.base, a.byteCount) == 0 && a.digest() == b.digest()
}

/// Hands out residency maps in order, then repeats the last.
final class MapSequence: Sendable {
    private let maps: [[UInt64]]
    private let calls = Atomic<Int>(0)
    init(_ maps: [[UInt64]]) { self.maps = maps }
    func next() -> [UInt64] { maps[min(calls.add(1, ordering: .relaxed).oldValue, maps.count - 1)] }
}

@Suite("Whole migrations over an in-memory pipe")
struct EndToEndTests {
    @Test("pages the kernel never backed go out as zero records unread; a page marked dirty is read whatever the kernel says")
    func neverBackedPagesAreNotRead() throws {
        let vm = try TestVM(pages: 4096, nonZero: 200)
        let contentPages = vm.contentPages
        // The residency map leaves out two pages with contents: `hidden` is clean (TestVM cleared the
        // dirty bits), `rewritten` is written again now, so its dirty bit says it was written.
        let hidden = contentPages[10], rewritten = contentPages[20]
        vm.write(at: rewritten * 4096 + 8, [1, 2, 3, 4])
        // (When the frozen memory is verified, the map includes the rewritten page, as the kernel's would.)
        let populated = residencyMap(contentPages.filter { $0 != hidden && $0 != rewritten }, pageCount: 4096)
        let later = residencyMap(contentPages.filter { $0 != hidden }, pageCount: 4096)
        let maps = MapSequence([populated, later])
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(), workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1),
                        populatedPages: { maps.next() })
        let result = try pipe.runToCompletion()
        let destination = try #require(pipe.destination.memory)
        // Round 1 read exactly the backed pages and the marked one: the hidden page arrives as zero
        // (proof that it was not read), every other page exactly.
        #expect(result.rounds[0].pages == 4096)
        #expect(result.rounds[0].zeroPages == 4096 - (contentPages.count - 1))
        #expect(destination.withPage(hidden) { $0.allSatisfy { $0 == 0 } })
        for page in contentPages where page != hidden {
            #expect(destination.pageHash(page) == vm.memory.pageHash(page), "page \(page)")
        }
        #expect(destination.pageHash(rewritten) == vm.memory.pageHash(rewritten))
    }

    @Test("a sparse VM's never-backed runs cross as zero ranges: round 1 costs bytes per touched page, not per page")
    func sparseMemoryUsesZeroRanges() throws {
        let pages = 16_384
        let vm = try TestVM(pages: pages, nonZero: 100)
        let contentPages = vm.contentPages
        let map = residencyMap(contentPages, pageCount: pages)
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(), workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1),
                        encryption: .disabled, populatedPages: { map })
        pipe.captureStreams = true
        let result = try pipe.runToCompletion()
        #expect(memoriesEqual(vm.memory, pipe.destination.memory))
        let first = try #require(result.rounds.first)
        #expect(first.pages == pages && first.zeroPages == pages - contentPages.count)
        // On the wire: round 1 carries each touched page in full and at most one zero record (a range,
        // or a single zero page between two touched ones) between two touched pages, instead of one
        // 9-byte record per zero page.
        var decoder = MigrationDecoder(pageCount: pages)
        decoder.append(pipe.wireToDestination)
        var normal = 0, zeroRecords = 0, zeroPages = 0
        while let message = try decoder.next() {
            guard case let .pageBatch(batch) = message, batch.round == 1 else { continue }
            batch.forEachRecord { record in
                switch record {
                case .page: normal += 1
                case let .zero(range):
                    zeroRecords += 1
                    zeroPages += range.count
                }
            }
        }
        #expect(normal == contentPages.count)
        #expect(zeroPages == pages - contentPages.count)
        #expect(zeroRecords <= contentPages.count + 1, "\(zeroRecords) zero records for \(contentPages.count) touched pages")
        #expect(first.bytes < contentPages.count * 4105 + (pages - contentPages.count) * 9 / 4)
    }

    @Test("the final round streams out in pieces while the destination works; the switchover message comes last")
    func finalRoundIsPipelined() throws {
        let vm = try TestVM(pages: 4096, nonZero: 1000)
        // A generous target: switch over right after round 1, with hundreds of pages dirtied meanwhile.
        let policy = ConvergencePolicy(downtimeTargetNanoseconds: 10_000_000_000)
        var pipe = Pipe(vm: vm, policy: policy, workload: Workload(pagesPerMillisecond: 200, hotPages: 0..<2000),
                        encryption: .disabled)
        pipe.captureStreams = true
        let result = try pipe.runToCompletion()
        #expect(memoriesEqual(vm.memory, pipe.destination.memory))
        let final = try #require(result.rounds.last)
        #expect(final.pages > 300, "the final round is large (\(final.pages) pages)")
        // The final round's pieces carry pages only; the last ends with the switchover message (after it:
        // the commit). Each piece is whole messages (the stream is in clear).
        func messages(_ bytes: [UInt8]) -> [MigrationMessage] {
            var decoder = MigrationDecoder(pageCount: 4096)
            decoder.append(bytes)
            var all: [MigrationMessage] = []
            while let message = try? decoder.next() { all.append(message) }
            return all
        }
        func isSwitchover(_ message: MigrationMessage) -> Bool { if case .switchover = message { true } else { false } }
        func carriesPages(_ message: MigrationMessage) -> Bool {
            switch message {
            case .pageBatch, .roundEnd: true
            default: false
            }
        }
        let stunAt = try #require(pipe.writesAtStun)
        let afterStun = Array(pipe.sourceWrites[stunAt...])
        let last = try #require(afterStun.firstIndex { messages($0).contains(where: isSwitchover) })
        let pieces = afterStun[...last]
        #expect(pieces.count >= final.pages * 4096 / MigrationSource.finalPieceBytes, "\(pieces.count) pieces")
        #expect(pieces.allSatisfy { $0.count <= MigrationSource.finalPieceBytes + 64 * 1024 }, "each piece stays near the piece size")
        #expect(pieces.dropLast().allSatisfy { messages($0).allSatisfy(carriesPages) }, "the pieces before the last carry pages only")
        #expect(messages(pieces.last!).last.map(isSwitchover) == true, "the switchover message ends the last piece")
        #expect(result.ram.downtimeBytes == pieces.reduce(0) { $0 + $1.count })
    }

    @Test("rounds shrink, zero pages cost a flag, the copy is exact")
    func convergesAndCopiesExactly() throws {
        let vm = try TestVM(pages: 4096, nonZero: 1000)
        let policy = ConvergencePolicy(downtimeTargetNanoseconds: 100_000)
        var pipe = Pipe(vm: vm, policy: policy, workload: Workload(pagesPerMillisecond: 50, hotPages: 100..<612))
        let result = try pipe.runToCompletion()
        #expect(result.verified)
        #expect(pipe.sourceActions.contains(.releaseSource))
        #expect(pipe.workload.writes > 100)
        // Round 1 sends every page: 1000 with contents, the rest as 9-byte zero records.
        let first = result.rounds[0]
        #expect(first.pages == 4096)
        // (The workload scribbles on a few zero pages of its hot set before round 1 reaches them.)
        #expect(first.zeroPages <= 3096 && first.zeroPages > 3000)
        let payload = (first.pages - first.zeroPages) * (9 + 4096) + first.zeroPages * 9
        #expect(first.bytes >= payload && first.bytes < payload + payload / 100)
        #expect(result.ram.duplicate >= first.zeroPages)
        #expect(result.ram.normalBytes == result.ram.normal * 4096)
        // Later rounds shrink until the rest fits the target.
        let precopy = result.rounds.dropLast()
        #expect(precopy.count >= 3)
        for (earlier, later) in zip(precopy, precopy.dropFirst()) { #expect(later.pages < earlier.pages) }
        let final = try #require(result.rounds.last)
        // The final round sends what the last pre-copy round left dirty, plus what the workload wrote while
        // the pipe carried the last bytes produced before the stun (a few pages at 50 pages/ms).
        #expect(final.pages >= precopy.last!.dirtiedDuring && final.pages <= precopy.last!.dirtiedDuring + 8)
        #expect(try #require(result.expectedDowntime) <= 0.1)
        #expect(result.ram.dirtySyncCount == result.rounds.count)
        // Everything on the wire is page records plus a little framing.
        let records = result.ram.normal * (9 + 4096) + result.ram.duplicate * 9
        #expect(result.ram.transferred > records && result.ram.transferred < records + records / 100 + 1024)
        #expect(result.ram.remaining == 0)
        #expect(result.ram.precopyBytes + result.ram.downtimeBytes < result.ram.transferred + 1)
        // Downtime: stun action to the destination's resume time.
        let downtime = try #require(result.downtime)
        // At least the final round's transfer plus the resume; at most one more produce buffer on top.
        let floor = Double(final.bytes + Int(pipe.resumeDelay)) / 1e6
        #expect(downtime >= floor && downtime <= floor + Double(pipe.budget + 4200) / 1e6, "\(downtime)")
        #expect(try #require(result.stunToResumedAck) >= downtime)
        // The destination holds the source's memory byte for byte, and got the state and frames.
        #expect(memoriesEqual(vm.memory, pipe.destination.memory))
        #expect(vm.matchesShadow)
        #expect(pipe.source.verifySourceFrozenMemory())
        let state = try #require(pipe.resumedState)
        #expect(state.vcpuState == [1, 2, 3] && state.workloadState == [9, 8, 7, 6])
        #expect(state.queuedFrames == pipe.queuedFrames)
        #expect(pipe.destination.phase == .committed)
        #expect(pipe.destinationActions.contains { if case .completed = $0 { true } else { false } })
    }

    @Test("a tiny VM crosses in 1-byte chunks")
    func oneByteChunks() throws {
        let vm = try TestVM(pages: 24, nonZero: 10, seed: 7)
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(downtimeTargetNanoseconds: 2_000),
                        workload: Workload(pagesPerMillisecond: 500, hotPages: 0..<24), chunkSizes: 1...1)
        pipe.budget = 5000
        let result = try pipe.runToCompletion()
        #expect(result.rounds.count >= 2)
        #expect(memoriesEqual(vm.memory, pipe.destination.memory))
    }

    @Test("an idle VM switches over right after round 1, even with a zero downtime target")
    func idleVMSwitchesImmediately() throws {
        let vm = try TestVM(pages: 512, nonZero: 100)
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(downtimeTargetNanoseconds: 0),
                        workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1))
        let result = try pipe.runToCompletion()
        #expect(result.rounds.count == 2)
        #expect(result.rounds[1].pages == 0)
        #expect(result.ram.normal == 100 && result.ram.duplicate == 412)
        #expect(memoriesEqual(vm.memory, pipe.destination.memory))
    }

    @Test("a writer too fast for the link gets throttled and converges")
    func fastWriterThrottledConverges() throws {
        let vm = try TestVM(pages: 4096, nonZero: 1000)
        let policy = ConvergencePolicy(downtimeTargetNanoseconds: 1_000_000)
        var pipe = Pipe(vm: vm, policy: policy, workload: Workload(pagesPerMillisecond: 500, hotPages: 0..<512))
        let result = try pipe.runToCompletion()
        #expect(pipe.throttles.first == 20)
        #expect(pipe.throttles.count >= 2)
        #expect(zip(pipe.throttles, pipe.throttles.dropFirst()).allSatisfy { $1 == $0 + 10 })
        #expect(result.cpuThrottlePercentage == pipe.throttles.last)
        #expect(memoriesEqual(vm.memory, pipe.destination.memory))
    }

    @Test("the same writer without auto-converge hits the round cap and fails cleanly")
    func roundCapFailsCleanly() throws {
        let vm = try TestVM(pages: 4096, nonZero: 1000)
        // The throttling test's policy with auto-converge off: it never converges.
        var policy = ConvergencePolicy(downtimeTargetNanoseconds: 1_000_000)
        policy.autoConverge = false
        var pipe = Pipe(vm: vm, policy: policy, workload: Workload(pagesPerMillisecond: 500, hotPages: 0..<512))
        pipe.run()
        let result = try #require(pipe.result)
        #expect(result.status == .failed)
        #expect(result.rounds.count == 30)
        #expect(result.error?.contains("30 rounds") == true)
        #expect(pipe.throttles.isEmpty)
        #expect(pipe.sourceActions.contains { if case .resumeSource = $0 { true } else { false } })
        #expect(!pipe.sourceActions.contains(.releaseSource))
        #expect(!pipe.sourceActions.contains(.stun))
        #expect(vm.matchesShadow)
        // The destination heard the abort and freed everything.
        #expect(pipe.destination.phase == .discarded)
        #expect(pipe.destination.memory == nil)
        #expect(pipe.resumedState == nil)
    }

    @Test("the total-time cap fails cleanly and removes the throttle")
    func totalTimeCapFailsCleanly() throws {
        let vm = try TestVM(pages: 4096, nonZero: 1000)
        let policy = ConvergencePolicy(downtimeTargetNanoseconds: 1_000_000, maxTotalNanoseconds: 10_000_000)
        var pipe = Pipe(vm: vm, policy: policy, workload: Workload(pagesPerMillisecond: 500, hotPages: 0..<512))
        pipe.run()
        let result = try #require(pipe.result)
        #expect(result.status == .failed)
        #expect(result.error?.contains("total-time") == true)
        #expect(pipe.throttles.first == 20)
        #expect(pipe.throttles.last == 0)
        let unthrottle = try #require(pipe.sourceActions.firstIndex(of: .throttle(percent: 0)))
        let resume = try #require(pipe.sourceActions.firstIndex { if case .resumeSource = $0 { true } else { false } })
        #expect(unthrottle < resume)
        #expect(vm.matchesShadow)
        #expect(pipe.destination.phase == .discarded)
    }

    @Test("a page corrupted in transit fails verification and the VM stays on the source")
    func corruptedPageFailsVerification() throws {
        let vm = try TestVM(pages: 1024, nonZero: 200)
        // In clear, so the digest is what catches it (encrypted, the record's tag would; see EncryptionTests).
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(), workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1),
                        encryption: .disabled)
        var flipped = false
        pipe.tamper = { bytes in
            // The first page batch starts with page 0 (non-zero): flip a byte of its contents.
            if !flipped, bytes.count > 100, bytes[5] == MigrationMessageType.pageBatch.rawValue {
                bytes[12 + 8 + 9 + 100] ^= 0x40
                flipped = true
            }
        }
        pipe.run()
        #expect(flipped)
        let result = try #require(pipe.result)
        #expect(result.status == .failed)
        #expect(result.error?.contains("digest") == true)
        #expect(pipe.sourceActions.contains { if case .resumeSource = $0 { true } else { false } })
        #expect(pipe.resumedState == nil)
        #expect(pipe.destination.phase == .discarded)
    }

    @Test("source memory changed behind dirty tracking: the frozen check fails and the coordinator decides")
    func frozenCheckCatchesUntrackedWrite() throws {
        let vm = try TestVM(pages: 256, nonZero: 30)
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(), workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1))
        pipe.run(stopWhen: { $0.source.phase == .switchover })
        #expect(pipe.source.verifySourceFrozenMemory())
        // A write that bypasses the dirty bitmap (what a tracking bug would do).
        vm.memory.base.storeBytes(of: 0x5A as UInt8, toByteOffset: 77 * 4096 + 5, as: UInt8.self)
        #expect(!pipe.source.verifySourceFrozenMemory())
        pipe.run()
        #expect(pipe.sourceActions.contains { if case .awaitCoordinator = $0 { true } else { false } })
        #expect(!pipe.sourceActions.contains(.releaseSource))
        #expect(pipe.result == nil)
        #expect(pipe.source.result(now: pipe.clock).status == .awaitingCoordinator)
    }

    @Test("frames forwarded after the switchover reach the destination VM")
    func forwardedFrames() throws {
        let vm = try TestVM(pages: 64, nonZero: 10)
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(), workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1))
        pipe.run(stopWhen: { $0.source.phase == .switchover })
        #expect(pipe.source.phase == .switchover)
        let frame: [UInt8] = Array(repeating: 0xAB, count: 60)
        pipe.handleSource(pipe.source.forwardFrame(frame, now: pipe.clock))
        pipe.run()
        #expect(pipe.deliveredFrames == [frame])
        #expect(pipe.result?.status == .completed)
        // Within the grace period after commit it still forwards; after it, not.
        #expect(pipe.source.forwardFrame(frame, now: pipe.clock + 1_000).count == 1)
        #expect(pipe.source.forwardFrame(frame, now: pipe.clock + 3_000_000_000).isEmpty)
    }

    @Test("the result encodes with QEMU query-migrate names")
    func resultJSON() throws {
        let vm = try TestVM(pages: 256, nonZero: 50)
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(), workload: Workload(pagesPerMillisecond: 10, hotPages: 0..<64))
        pipe.run()
        let result = try #require(pipe.result)
        let data = try JSONEncoder().encode(result)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["status", "total-time", "setup-time", "downtime", "expected-downtime", "ram",
                    "cpu-throttle-percentage", "rounds", "verified", "stun-to-resumed-ack"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        let ram = try #require(object["ram"] as? [String: Any])
        for key in ["transferred", "remaining", "total", "duplicate", "normal", "normal-bytes", "dirty-pages-rate",
                    "dirty-sync-count", "mbps", "pages-per-second", "page-size", "precopy-bytes", "downtime-bytes"] {
            #expect(ram[key] != nil, "missing ram.\(key)")
        }
        #expect(object["status"] as? String == "completed")
        #expect(ram["total"] as? Int == 256 * 4096)
        let round = try #require((object["rounds"] as? [[String: Any]])?.first)
        for key in ["round", "pages", "zero-pages", "bytes", "duration-ms", "mbps", "dirtied-during"] {
            #expect(round[key] != nil, "missing rounds[0].\(key)")
        }
        #expect(try JSONDecoder().decode(MigrationResult.self, from: data) == result)
    }
}
