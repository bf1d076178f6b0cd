import Foundation
import L2Control
import L2Guest
import Testing
@testable import L2Lab

/// A topology VM's `dirty-rate` and where reports show the workload's rate.
@Suite("Topology: a VM's dirty-rate")
struct DirtyRateTopologyTests {
    @Test func aDirtyRateReplacesThePresetsRate() throws {
        let yaml = try edited([("    workload: web", "    workload: web\n    dirty-rate: 64")])
        let vm = try TopologyLoader.parse(yaml: yaml, source: "test.yaml").vms[0]
        #expect(vm.dirtyRate == 64)
        #expect(vm.workloadSpec == WorkloadSpec.web.withDirtyRate(mebibytesPerSecond: 64))
        #expect(vm.workloadSpec.rateSummary == "web at 64 MiB/s")
        let zero = try TopologyLoader.parse(yaml: try edited([("    workload: web", "    workload: db\n    dirty-rate: 0")]), source: "test.yaml")
        #expect(zero.vms[0].workloadSpec.pagesPerSecond == 0)
    }

    @Test func withoutADirtyRateThePresetRuns() throws {
        let vm = try TopologyLoader.parse(yaml: baseYAML, source: "test.yaml").vms[0]
        #expect(vm.dirtyRate == nil)
        #expect(vm.workloadSpec == .web)
        // The example `lab topology` prints shows the key, commented out, and stays valid.
        #expect(DefaultTopology.yaml.contains("# dirty-rate: 64"))
        #expect(DefaultTopology.topology().vms[0].dirtyRate == nil)
    }

    @Test(arguments: ["-1", ".inf", ".nan", "1e20", "39063"])
    func anOutOfRangeDirtyRateIsRefusedWithItsLine(value: String) throws {
        let yaml = try edited([("    workload: web", "    workload: web\n    dirty-rate: \(value)")])
        let found = problems(yaml)
        #expect(found.count == 1, "\(found)")
        let problem = try #require(found.first)
        #expect(problem.path == "vms[0].dirty-rate")
        #expect(try problem.line == line(of: "dirty-rate: \(value)", in: yaml))
        #expect(problem.message.hasPrefix("dirty-rate must be a finite number of MiB/s between 0 and 39062.5, not "), "\(problem.message)")
    }

    @Test func aDirtyRateThatIsNotANumberIsATypeError() throws {
        let yaml = try edited([("    workload: web", "    workload: web\n    dirty-rate: fast")])
        let problem = try #require(problems(yaml).first)
        #expect(problem.path == "vms[0].dirty-rate")
        #expect(try problem.line == line(of: "dirty-rate: fast", in: yaml))
    }

    @Test func theHumanReportShowsTheRate() throws {
        var report = demoReport(ping: steadyPing, migration: completedMigration())
        #expect(DemoMarkdown.render(report).contains("VM web01: 1024 MiB, 256 MiB touched, workload `web`.\n"),
                "a report without a recorded rate reads as before")
        report.dirtyRateMiBPerSecond = 64
        #expect(DemoMarkdown.render(report).contains("VM web01: 1024 MiB, 256 MiB touched, workload `web` at 64 MiB/s.\n"))
        report.dirtyRateMiBPerSecond = WorkloadSpec.web.mebibytesPerSecond
        #expect(DemoMarkdown.render(report).contains("workload `web` at 7.81 MiB/s."))
    }

    @Test func reportJSONCarriesTheRateAndOlderReportsStillDecode() throws {
        var report = demoReport(ping: steadyPing, migration: completedMigration())
        report.dirtyRateMiBPerSecond = 64
        let data = try ControlJSON.encoder.encode(report)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["dirty_rate_mib_s"] as? Double == 64)
        #expect(try ControlJSON.decoder.decode(DemoReport.self, from: data).dirtyRateMiBPerSecond == 64)
        var older = object
        older["dirty_rate_mib_s"] = nil
        let olderData = try JSONSerialization.data(withJSONObject: older)
        #expect(try ControlJSON.decoder.decode(DemoReport.self, from: olderData).dirtyRateMiBPerSecond == nil)
    }
}
