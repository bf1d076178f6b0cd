import Testing
@testable import L2Guest

private let millisecond: UInt64 = 1_000_000
private let second: UInt64 = 1_000_000_000
private let base = GuestLayout.firstDataPage

/// `--dirty-rate`: a preset's working set and pattern at another rate, in MiB/s (256 pages/s each).
@Suite struct DirtyRateTests {
    @Test func theRateIsReplacedAndTheRestOfThePresetKept() {
        let spec = WorkloadSpec.web.withDirtyRate(mebibytesPerSecond: 64)
        #expect(spec.pagesPerSecond == 16_384)
        #expect(spec.mebibytesPerSecond == 64)
        #expect(spec.preset == "web")
        #expect(spec.workingSetPages == WorkloadSpec.web.workingSetPages)
        #expect(spec.pattern == .hotCold)
        #expect(spec.hotSetFraction == WorkloadSpec.web.hotSetFraction && spec.hotWriteFraction == WorkloadSpec.web.hotWriteFraction)
        #expect(spec.problems().isEmpty)
        #expect(WorkloadSpec.db.withDirtyRate(mebibytesPerSecond: 0).problems().isEmpty, "0 is allowed")
    }

    @Test func theLargestRateIsTheLargestPageRate() {
        #expect(WorkloadSpec.pagesPerMebibyte == 256)
        #expect(WorkloadSpec.maximumMebibytesPerSecond == 39_062.5)
        #expect(WorkloadSpec.idle.withDirtyRate(mebibytesPerSecond: WorkloadSpec.maximumMebibytesPerSecond).problems().isEmpty)
        #expect(WorkloadSpec.idle.withDirtyRate(mebibytesPerSecond: 39_063).problems()
                == ["pagesPerSecond must be in 0...10000000, not 10000128.0"])
        #expect(!WorkloadSpec.idle.withDirtyRate(mebibytesPerSecond: -1).problems().isEmpty)
        #expect(!WorkloadSpec.idle.withDirtyRate(mebibytesPerSecond: .nan).problems().isEmpty)
    }

    @Test func aWorkloadAt64MiBPerSecondWritesThatOverATestClock() throws {
        let memory = try GuestMemory(pageCount: 8192)
        var workload = Workload(spec: WorkloadSpec.web.withDirtyRate(mebibytesPerSecond: 64), seed: 1, now: 0)
        var written = 0
        var dirty = Set<Int>()
        for step: UInt64 in 1...1_000 {
            written += workload.advance(to: step * millisecond, memory: memory)
            dirty.formUnion(memory.dirty.takeAll())
        }
        #expect(written == 16_384, "64 MiB/s for one second is 16384 page writes")
        #expect(workload.writes == 16_384)
        // The web working set (4096 pages) and its hot/cold pattern stay: every write lands in it, 90 %
        // on its first 409 pages (all of them written) and 1,638 over the 3,687 cold ones (about 1,300
        // distinct), where a uniform pattern would have touched about 3,800.
        #expect(dirty.allSatisfy { (base..<base + 4_096).contains($0) })
        #expect(Set(base..<base + 409).isSubset(of: dirty))
        #expect(dirty.count > 1_500 && dirty.count < 2_000, "\(dirty.count) distinct pages")
    }

    @Test func aWorkloadAtZeroWritesNothing() throws {
        let memory = try GuestMemory(pageCount: 8192)
        var workload = Workload(spec: WorkloadSpec.db.withDirtyRate(mebibytesPerSecond: 0), seed: 1, now: 0)
        for step: UInt64 in 1...100 { #expect(workload.advance(to: step * 10 * millisecond, memory: memory) == 0) }
        #expect(memory.dirty.takeAll().isEmpty)
        #expect(memory.nonZeroPageCount() == 0)
    }

    @Test func aVMPoweredOnWithADirtyRateDirtiesMemoryAtThatRate() throws {
        var config = try VMConfiguration.parse(json: web01JSON)
        config.memoryMiB = 32
        config.touchedMiB = 0
        config.workload = config.workload.withDirtyRate(mebibytesPerSecond: 16)
        let vm = try VirtualMachine(configuration: config)
        _ = try vm.powerOn(now: 0, bootID: 1)
        _ = vm.memory.dirty.takeAll()
        var dirtied = 0
        for step: UInt64 in 1...2_000 {
            vm.tick(now: step * millisecond)
            if step % 100 == 0 { dirtied += vm.memory.dirty.takeAll().count }
        }
        #expect(abs(vm.dirtyRate - 4_096) < 1, "measured \(vm.dirtyRate) writes/s")
        #expect(vm.workload.writes == 8_192, "two seconds at 16 MiB/s")
        // Dirty pages are counted per sync, like a pre-copy round: each round of 100 ms sees at most
        // the 410 writes of that round, fewer where two writes hit one page.
        #expect(dirtied > 4_000 && dirtied <= 8_192, "\(dirtied) pages dirty over 20 syncs")
    }

    @Test(arguments: [
        (WorkloadSpec.web, "web at 7.81 MiB/s"),
        (WorkloadSpec.web.withDirtyRate(mebibytesPerSecond: 64), "web at 64 MiB/s"),
        (WorkloadSpec.idle, "idle at 0.04 MiB/s"),
        (WorkloadSpec.db, "db at 156.25 MiB/s"),
        (WorkloadSpec.db.withDirtyRate(mebibytesPerSecond: 0), "db at 0 MiB/s"),
        (WorkloadSpec.idle.withDirtyRate(mebibytesPerSecond: 0.5), "idle at 0.5 MiB/s"),
        (WorkloadSpec(pagesPerSecond: 1, workingSetPages: 8, pattern: .uniform), "custom at 0.0039 MiB/s"),
    ])
    func reportsShowThePresetAndTheRate(spec: WorkloadSpec, text: String) {
        #expect(spec.rateSummary == text)
    }
}
