#if canImport(Glibc)
import Glibc
#endif
import L2Guest
import L2Wire
import Testing
@testable import L2Migration

/// Post-copy and hybrid over the in-memory pipe: the VM resumes on the destination with pages
/// missing, faulted pages jump the background push, duplicates are dropped, and the memory proof
/// still holds; a cut link pauses the VM on the destination (never discarded) or, before its
/// `resumed`, leaves the end to the coordinator.
@Suite("Post-copy over an in-memory pipe")
struct PostcopyTests {
    /// The destination's memory equals the source's at the stun, byte for byte.
    static func matchesStun(_ pipe: Pipe) throws -> Bool {
        let memory = try #require(pipe.destination.memory)
        let shadow = try #require(pipe.shadowAtStun)
        return shadow.withUnsafeBytes { memcmp($0.baseAddress!, memory.base, shadow.count) == 0 }
    }

    @Test("post-copy from the start: the VM resumes at once, faulted pages come first, the copy is proved exact")
    func fromTheStart() throws {
        let vm = try TestVM(pages: 2048, nonZero: 600)
        let contentPages = vm.contentPages
        let map = residencyMap(contentPages, pageCount: 2048)
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(), workload: Workload(pagesPerMillisecond: 20, hotPages: 0..<2048),
                        populatedPages: { map }, mode: .postcopy)
        pipe.budget = 16 * 1024
        // The VM touches the last content pages first: far behind the push, which goes in page order.
        let touched = Array(contentPages.suffix(5).reversed())
        pipe.destinationTouches = touched
        pipe.hotPages = [contentPages[0]]
        let result = try pipe.runToCompletion()
        #expect(result.mode == .postcopy)
        #expect(result.rounds.count == 1, "one round: the hot page before the resume, nothing else pre-copied: \(result.rounds)")
        #expect(result.rounds.first?.pages == 1)
        let stats = try #require(result.postcopy)
        #expect(stats.requests == touched.count && stats.requestedPages == touched.count)
        // Never-backed pages were not missing: only the content pages (and pages the workload wrote
        // before the stun) travel after the switchover.
        #expect(stats.pages < 2048 && stats.pages >= contentPages.count - 1, "\(stats.pages) pages after the switchover")
        #expect(result.verified, "the destination proved the digest and the source its frozen memory")
        #expect(try Self.matchesStun(pipe), "the destination holds the source's memory at the stun")
        // Each touched page arrived before the pages the push would have sent before it.
        for page in touched {
            let index = try #require(pipe.arrivedPages.firstIndex(of: page))
            let pushedBefore = contentPages.filter { $0 < page && !touched.contains($0) }
            let overtaken = pushedBefore.filter { other in (pipe.arrivedPages.firstIndex(of: other) ?? Int.max) > index }
            #expect(!overtaken.isEmpty || pushedBefore.isEmpty, "page \(page) jumped ahead of the push")
        }
        let report = pipe.destination.currentReport.postcopy
        #expect(report?.faults == touched.count)
        #expect(report?.faultLatencyMaxMs != nil && report?.faultLatencyP50Ms != nil)
        #expect(report?.duplicatePages == 0)
        #expect(pipe.destination.phase == .committed)
        #expect(result.downtime != nil && result.downtime! < 5, "resumed without copying memory: \(result.downtime ?? -1) ms")
    }

    @Test("a request for a page already sent is counted, not sent again; a page sent twice is dropped, never stored over")
    func duplicates() throws {
        let vm = try TestVM(pages: 512, nonZero: 200)
        // In clear, so the test can hand each side a message of its own.
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(), workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1),
                        encryption: .disabled, mode: .postcopy)
        pipe.budget = 8 * 1024
        // Run until the switchover and a few post-copy batches are through.
        pipe.run(stopWhen: { $0.destination.phase == .postcopyActive && $0.arrivedPages.count > 40 })
        let sentAlready = try #require(pipe.arrivedPages.first)
        // The destination's VM writes the page that arrived; the source is asked for it again (a
        // request that crossed its page); then the same post-copy batch arrives a second time.
        let memory = try #require(pipe.destination.memory)
        memory.storeUInt64(0xDEAD_BEEF, at: sentAlready * 4096)
        pipe.handleSource(pipe.source.receive(bytes: MigrationEncoder.encode(.pageRequest(pages: [UInt64(sentAlready)])), now: pipe.clock))
        // A request naming pages past the end of memory (the source's decoder does not know the
        // page count) is dropped, not a crash.
        pipe.handleSource(pipe.source.receive(bytes: MigrationEncoder.encode(.pageRequest(pages: [UInt64.max, 1 << 40])), now: pipe.clock))
        #expect(pipe.source.phase == .postcopy)
        var copy: [UInt8] = []
        let pageBytes = UnsafeRawBufferPointer(start: vm.memory.pointer(toPage: sentAlready), count: 4096)
        var writer = PageBatchWriter()
        writer.begin(round: MigrationWire.postcopyRound, in: &copy)
        _ = writer.appendPage(page: sentAlready, contents: pageBytes.baseAddress!, in: &copy)
        writer.finish(in: &copy)
        pipe.handleDestination(pipe.destination.receive(bytes: copy, now: pipe.clock))
        #expect(memory.loadUInt64(at: sentAlready * 4096) == 0xDEAD_BEEF, "the VM's write survives the duplicate")
        #expect(pipe.destination.currentReport.postcopy?.duplicatePages == 1)
        let result = try pipe.runToCompletion()
        #expect(result.postcopy?.requestedAlreadySent == 1)
        #expect(result.postcopy?.requests == 2 && result.postcopy?.requestedPages == 3)
    }

    @Test("hybrid: pre-copy while rounds converge, post-copy once they stop, and the switch-over takes effect")
    func hybrid() throws {
        let vm = try TestVM(pages: 2048, nonZero: 800)
        // The workload dirties far faster than the link sends: the policy would throttle.
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(downtimeTargetNanoseconds: 100_000),
                        workload: Workload(pagesPerMillisecond: 400, hotPages: 0..<1024), mode: .hybrid)
        pipe.nanosecondsPerByte = 4
        let result = try pipe.runToCompletion()
        #expect(result.mode == .hybrid)
        #expect(result.rounds.count >= 2, "pre-copy ran first: \(result.rounds.count) rounds")
        #expect(pipe.throttles.allSatisfy { $0 == 0 }, "no throttle: post-copy instead: \(pipe.throttles)")
        let stats = try #require(result.postcopy, "the switch to post-copy took effect")
        #expect(stats.pages > 0)
        #expect(try Self.matchesStun(pipe))
        #expect(result.verified)
    }

    @Test("hybrid that converges stays pre-copy")
    func hybridThatConverges() throws {
        let vm = try TestVM(pages: 1024, nonZero: 100)
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(), workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1), mode: .hybrid)
        let result = try pipe.runToCompletion()
        #expect(result.postcopy == nil && result.mode == .hybrid)
        #expect(memoriesEqual(vm.memory, pipe.destination.memory))
    }

    @Test("the link cut after the destination resumed: the VM pauses there, the source keeps its memory; before it: the source parks too")
    func cutLink() throws {
        let vm = try TestVM(pages: 2048, nonZero: 800)
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(), workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1), mode: .postcopy)
        pipe.budget = 8 * 1024
        pipe.run(stopWhen: { $0.destination.phase == .postcopyActive && $0.arrivedPages.count > 20 && $0.source.postcopy?.destinationResumed == true })
        #expect(pipe.destination.missingPageCount > 0)
        pipe.handleSource(pipe.source.connectionLost(now: pipe.clock))
        pipe.handleDestination(pipe.destination.connectionLost(now: pipe.clock))
        #expect(pipe.source.phase == .postcopyPaused && pipe.sourcePaused != nil)
        #expect(pipe.destination.phase == .postcopyPaused && pipe.pausedReason != nil)
        #expect(pipe.destination.memory != nil, "nothing discarded")
        // A page the paused VM touches is asked for once the link is back, not lost.
        let missing = try #require((0..<2048).first { pipe.destination.isMissing($0) })
        #expect(pipe.destination.pageFault([missing], now: pipe.clock).isEmpty)

        // Before the destination's resumed: it may have resumed (the message lost with the link), so
        // the source parks too; never the pre-copy resolution, which would release the memory.
        let other = try TestVM(pages: 256, nonZero: 50)
        var early = Pipe(vm: other, policy: ConvergencePolicy(), workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1), mode: .postcopy)
        early.run(stopWhen: { $0.source.phase == .postcopy })
        early.handleSource(early.source.connectionLost(now: early.clock))
        #expect(early.source.phase == .postcopyPaused)
    }

    @Test("a paused migration recovers over a new connection with fresh keys: what was lost in flight comes again, the copy is proved")
    func recovery() throws {
        let vm = try TestVM(pages: 2048, nonZero: 900)
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(), workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1), mode: .postcopy)
        pipe.budget = 8 * 1024
        pipe.run(stopWhen: { $0.destination.phase == .postcopyActive && $0.arrivedPages.count > 50 && $0.source.postcopy?.destinationResumed == true })
        // The link dies with bytes in flight (they are lost), and the VM waits for a page meanwhile.
        pipe.toDestination.removeAll()
        pipe.handleSource(pipe.source.connectionLost(now: pipe.clock))
        pipe.handleDestination(pipe.destination.connectionLost(now: pipe.clock))
        let waiting = try #require((0..<2048).last { pipe.destination.isMissing($0) })
        #expect(pipe.destination.pageFault([waiting], now: pipe.clock).isEmpty, "asked once the link is back")
        #expect(pipe.source.phase == .postcopyPaused && pipe.destination.phase == .postcopyPaused)

        // The source's first bytes on the new connection: a lane hello of recovery lane 1.
        let hello = pipe.source.recover(now: pipe.clock)
        guard case let .send(bytes) = try #require(hello.first) else { Issue.record("no hello"); return }
        var decoder = MigrationDecoder()
        decoder.append(bytes)
        guard case let .laneHello(laneHello) = try decoder.next() else { Issue.record("not a lane hello"); return }
        #expect(laneHello.lane == MigrationWire.recoveryLaneBase + 1)
        // A forged or replayed hello changes nothing.
        var forged = laneHello
        forged.mac[0] ^= 1
        let refused = pipe.destination.recover(with: forged, now: pipe.clock)
        #expect(refused == nil)
        let accepted = pipe.destination.recover(with: laneHello, now: pipe.clock)
        let actions = try #require(accepted)
        #expect(actions.contains(.unpauseVM))
        let replayed = pipe.destination.recover(with: laneHello, now: pipe.clock)
        #expect(replayed == nil, "a hello is used once")
        pipe.sourceDone = false
        pipe.sourcePaused = nil
        pipe.handleDestination(actions)
        let result = try pipe.runToCompletion()
        #expect(result.postcopy?.pauses == 1)
        #expect(result.verified)
        #expect(try Self.matchesStun(pipe), "the pages lost in flight came again")
        #expect(pipe.destination.phase == .committed)
    }

    @Test("a destination prepared for pre-copy refuses post-copy before anything resumes")
    func notAgreed() throws {
        let vm = try TestVM(pages: 256, nonZero: 50)
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(), workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1), mode: .postcopy)
        var settings = destinationSettings()
        settings.acceptsPostcopy = false
        pipe.destination = MigrationDestination(settings: settings, now: pipe.clock)
        pipe.run()
        #expect(pipe.destination.phase == .discarded)
        #expect(pipe.result?.status == .failed)
        #expect(pipe.resumedState == nil)
    }

    @Test("missing pages as ranges and back, whole words and single bits, a last partial word")
    func ranges() {
        var rng = SplitMix64(seed: 7)
        for pageCount in [1, 63, 64, 65, 200, 4096 + 17] {
            var bitmap = [UInt64](repeating: 0, count: (pageCount + 63) / 64)
            for word in bitmap.indices {
                switch rng.next() % 4 {
                case 0: bitmap[word] = 0
                case 1: bitmap[word] = .max
                default: bitmap[word] = rng.next()
                }
            }
            // Bits past the last page are not pages.
            if pageCount & 63 != 0 { bitmap[bitmap.count - 1] &= (UInt64(1) << UInt64(pageCount & 63)) - 1 }
            let ranges = MigrationSource.ranges(of: bitmap, pageCount: pageCount)
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound < $1.lowerBound }, "ascending, apart")
            var back = [UInt64](repeating: 0, count: bitmap.count)
            let count = MigrationSource.setBits(ranges, in: &back)
            #expect(back == bitmap, "\(pageCount) pages")
            #expect(count == bitmap.reduce(0) { $0 + $1.nonzeroBitCount })
        }
    }

    @Test("post-copy messages round-trip; bad ranges and requests are refused")
    func codec() throws {
        let start = PostcopyStart(lastRound: 2, vcpuState: [1, 2], workloadState: [3], queuedFrames: [[9, 9, 9]], pageCount: 100,
                                  missing: [3..<5, 10..<100])
        for message in [MigrationMessage.postcopyStart(start), .pageRequest(pages: [1, 99]), .postcopyEnd(pages: 92, digest: 0xABCD),
                        .postcopyRecovered(missing: [0..<1, 50..<60])] {
            var decoder = MigrationDecoder(pageCount: 100)
            decoder.append(MigrationEncoder.encode(message))
            #expect(try decoder.next() == message)
        }
        #expect(start.missingPages == 92)
        let bad: [MigrationMessage] = [
            .postcopyStart(PostcopyStart(lastRound: 0, vcpuState: [], workloadState: [], queuedFrames: [], pageCount: 100, missing: [10..<20, 15..<30])),
            .postcopyStart(PostcopyStart(lastRound: 0, vcpuState: [], workloadState: [], queuedFrames: [], pageCount: 100, missing: [90..<120])),
            .pageRequest(pages: [100]),
            .pageRequest(pages: []),
            .postcopyRecovered(missing: [5..<5]),
        ]
        for message in bad {
            var decoder = MigrationDecoder(pageCount: 100)
            decoder.append(MigrationEncoder.encode(message))
            #expect(throws: MigrationProtocolError.self, "\(message) is refused") { try decoder.next() }
        }
    }
}
