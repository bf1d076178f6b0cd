import Foundation
import L2Control
import L2Edge
import L2Lab
import Testing

/// Port groups edited on running hosts (`l2motion host port-group add|remove`), and a VM powered on
/// with `--dirty-rate`, on a real lab.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct PortGroupIntegrationTests {
    func refusal(_ lab: TestLab, _ arguments: [String]) throws -> String { try lab.refusal(arguments) }

    @Test("a port group removed from esx02 makes the preflight refuse the migration, naming the label; added back, the migration succeeds")
    func removeThenAddBack() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }

        // Like ESXi: a port group a running VM uses cannot be removed (web01 runs on esx01).
        let inUse = try refusal(lab, ["host", "port-group", "remove", "--host", "esx01", "Production"])
        #expect(inUse.contains(#"port group "Production" on esx01 is in use by VM "web01""#), "\(inUse)")
        #expect(try lab.host("esx01", HostCall.hostInfo).portGroups.map(\.label) == ["Production"])

        #expect(try lab.run(["host", "port-group", "add", "--host", "esx02", "Test"])
            .contains(#"port group "Test" added on esx02; port groups: "Production", "Test""#))
        #expect(try lab.run(["host", "port-group", "remove", "--host", "esx02", "Production"])
            .contains(#"port group "Production" removed from esx02; port groups: "Test""#))
        #expect(try lab.host("esx02", HostCall.hostInfo).portGroups.map(\.label) == ["Test"])
        let missing = try refusal(lab, ["host", "port-group", "remove", "--host", "esx02", "Production"])
        #expect(missing.contains(#"port group "Production" not found on esx02 (it has: "Test")"#), "\(missing)")

        let refused = try refusal(lab, ["migrate", "web01", "--to", "esx02"])
        #expect(refused.contains(#"port group "Production" not found on esx02 (it has: "Test")"#), "\(refused)")
        #expect(try lab.host("esx01", HostCall.listVMs()).first?.statistics.state.rawValue == "running", "web01 still runs on esx01")
        #expect(try lab.host("esx02", HostCall.listVMs()).isEmpty)

        #expect(try lab.run(["host", "port-group", "add", "--host", "esx02", "Production"])
            .contains(#"port group "Production" added on esx02; port groups: "Test", "Production""#))
        let twice = try refusal(lab, ["host", "port-group", "add", "--host", "esx02", "Production"])
        #expect(twice.contains(#"port group "Production" already exists on esx02"#), "\(twice)")

        let report = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(
            try lab.run(["migrate", "web01", "--to", "esx02", "--downtime", "5", "--json"]).utf8))
        #expect(report.result.status.rawValue == "completed" && report.runsOn == "esx02", "\(report.outcome)")
        #expect(report.preflight.contains(#"port group: "Production" exists on esx02"#), "\(report.preflight)")
        #expect(try lab.exec("client01", ["ping", "-c", "1", "-W", "1", "10.10.0.10"]).contains("1 received"))

        // web01 now uses esx02's Production, and no longer esx01's.
        let nowInUse = try refusal(lab, ["host", "port-group", "remove", "--host", "esx02", "Production"])
        #expect(nowInUse.contains(#"in use by VM "web01""#), "\(nowInUse)")
        _ = try lab.run(["host", "port-group", "remove", "--host", "esx01", "Production"])
        #expect(try lab.host("esx01", HostCall.hostInfo).portGroups.isEmpty)
    }

    @Test("a VM powered on with --dirty-rate writes at that rate, shows it, and keeps it when it migrates")
    func dirtyRateAtPowerOn() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }
        let preset = try lab.host("esx01", HostCall.vmStats("web01"))
        #expect(preset.workload.rateSummary == "web at 7.81 MiB/s", "the lab powers web01 on at its preset's rate")

        _ = try lab.run(["vm", "power-off", "web01", "--host", "esx01"])
        let line = try lab.run(["vm", "power-on", "web01", "--datastore", "ds01", "--host", "esx01", "--dirty-rate", "16"])
        #expect(line.contains("port group \"Production\", workload web at 16 MiB/s"), "\(line)")
        let summary = try lab.host("esx01", HostCall.vmStats("web01"))
        #expect(summary.workload.pagesPerSecond == 4_096)
        #expect(summary.workload.workingSetPages == 4_096 && summary.workload.pattern.rawValue == "hotCold", "the preset's working set and pattern stay")
        // The VM's own measure over its last second of running: 16 MiB/s is 4096 page writes per second.
        var measured = 0.0
        #expect(lab.sandbox.waitUntil(seconds: 10) {
            measured = (try? lab.host("esx01", HostCall.vmStats("web01")).statistics.dirtyRate) ?? 0
            return abs(measured - 4_096) < 4_096 * 0.25
        }, "measured \(measured) writes/s")
        #expect(try lab.sandbox.run(["lab", "status", "--name", lab.name]).contains("web at 16 MiB/s"))

        _ = try lab.run(["migrate", "web01", "--to", "esx02", "--downtime", "5"])
        let moved = try lab.host("esx02", HostCall.vmStats("web01"))
        #expect(moved.workload.pagesPerSecond == 4_096, "the rate travels with the workload's state")
        #expect(try lab.run(["vm", "list", "--host", "esx02"]).contains("web at 16 MiB/s"))
    }
}
