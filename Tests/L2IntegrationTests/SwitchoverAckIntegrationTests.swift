import Foundation
import L2Control
import L2Edge
import L2Lab
import Testing

/// The switchover on a real lab: its phases in the report, and switchover-ack refusing to stun when
/// the destination could not resume the VM at once (the VM stays on its source, the reason named).
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct SwitchoverAckIntegrationTests {
    /// Migrates web01 to esx02, holding the source in round 1 while `during` breaks the destination.
    func migrateBreaking(_ lab: TestLab, during: @escaping @Sendable () -> Void) throws -> MigrationReport {
        var options = MigrationOptions()
        options.fault = FaultPlan(point: .round1, action: .hold, holdMs: 1000)
        options.onHold = { _ in during() }
        return try MigrationCoordinator(lab: lab.name).migrate(vm: "web01", to: "esx02", options: options)
    }

    func expectStaysOnSource(_ lab: TestLab, _ report: MigrationReport, reason: String) throws {
        #expect(report.result.status.rawValue == "failed", "\(report.outcome)")
        #expect(report.runsOn == "esx01", "\(report.outcome)")
        let error = report.result.error ?? ""
        #expect(error.contains("web01 was not stunned: the destination cannot resume it at once"), "\(error)")
        #expect(error.contains(reason), "\(error)")
        #expect(report.result.switchover?.freezeAt == nil, "never frozen")
        #expect(try lab.host("esx02", HostCall.listVMs()).isEmpty, "esx02 dropped its copy")
        #expect(try lab.host("esx01", HostCall.listVMs()).first?.statistics.state.rawValue == "running")
        #expect(try lab.exec("client01", ["ping", "-c", "1", "-W", "1", "10.10.0.10"]).contains("1 received"))
    }

    @Test("a port group removed from the destination during pre-copy: switchover-ack refuses, web01 stays on esx01; put back, the migration completes with the ack and the stun's phases reported")
    func portGroupRemovedMidMigration() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }
        let removed = LockedFlag()
        let report = try migrateBreaking(lab) {
            // The incoming copy does not hold the port group (its port connects at the switchover).
            removed.set((try? lab.run(["host", "port-group", "remove", "--host", "esx02", "Production"])) != nil)
        }
        #expect(removed.value, "the port group could be removed while web01 was arriving")
        try expectStaysOnSource(lab, report, reason: #"port group "Production" is no longer on esx02"#)

        _ = try lab.run(["host", "port-group", "add", "--host", "esx02", "Production"])
        let json = try lab.run(["migrate", "web01", "--to", "esx02", "--json"])
        let done = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(json.utf8))
        #expect(done.runsOn == "esx02", "\(done.outcome)")
        let ack = done.result.switchoverAck ?? ""
        #expect(ack.contains(#"port group "Production" attached, uplink vmnic0 up"#) && ack.contains("received pages resident"), "\(ack)")
        let timeline = try #require(done.result.switchover)
        let downtime = timeline.phases.filter(\.inDowntime)
        #expect(downtime.map(\.name) == ["freeze", "state-capture", "final-pages", "transfer", "verification", "resume"])
        #expect(abs(downtime.reduce(0) { $0 + $1.milliseconds } - (done.result.downtime ?? -1)) < 0.001)
        #expect(timeline.phases.contains { $0.name == "first-announce" }, "the first RARP is placed after the resume")
        #expect(json.contains(#""transfer""#) && json.contains(#""switchover-ack""#))
        // The text report says the same in words.
        let text = try lab.run(["migrate", "web01", "--to", "esx01"])
        #expect(text.contains("  stun       freeze ") && text.contains(" + transfer ") && text.contains(" ms before the freeze (VM running)"), "\(text)")
        #expect(text.contains("  switchover-ack  esx01: port group \"Production\" attached"), "\(text)")
    }

    @Test("the destination's uplink taken down during pre-copy: switchover-ack refuses, web01 stays on esx01")
    func uplinkDownMidMigration() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }
        let namespace = lab.namespace("esx02")
        let report = try migrateBreaking(lab) {
            _ = try? CommandRunner.run(["ip", "-n", namespace, "link", "set", "vmnic0", "down"])
        }
        try expectStaysOnSource(lab, report, reason: "uplink vmnic0 of esx02 is administratively down")
        _ = try CommandRunner.run(["ip", "-n", namespace, "link", "set", "vmnic0", "up"])
        let again = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(
            try lab.run(["migrate", "web01", "--to", "esx02", "--json"]).utf8))
        #expect(again.runsOn == "esx02", "\(again.outcome)")
    }
}

/// A flag one thread sets and another reads.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = false
    func set(_ value: Bool) { lock.withLock { stored = value } }
    var value: Bool { lock.withLock { stored } }
}
