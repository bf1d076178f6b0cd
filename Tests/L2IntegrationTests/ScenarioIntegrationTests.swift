import Foundation
import L2Lab
import Testing

/// Every scenario of `l2motion scenario run`, end to end, as CI runs them: each must pass, which means
/// its own checks saw what the field expects (an expected outage included); the tests also read the
/// key evidence from the JSON report.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct ScenarioIntegrationTests {
    /// Runs `l2motion scenario run NAME --json` under a lab name unique to this test process.
    static func run(_ name: String) throws -> (report: ScenarioReport, status: Int32) {
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let lab = "s\(getpid() % 100_000)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RootEnvironment.binary)
        process.arguments = ["scenario", "run", name, "--json", "--name", lab, "--captures", sandbox.directory + "/Captures"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        for suffix in ["", "1", "2", "3"] { #expect(!LabLifecycle.exists(lab + suffix), "the scenario took lab \(lab + suffix) down") }
        let report = try JSONDecoder().decode(ScenarioReport.self, from: data)
        return (report, process.terminationStatus)
    }

    static func failures(_ report: ScenarioReport) -> String {
        report.parts.flatMap { part in
            part.checks.filter { !$0.passed }.map { "\(part.name): \($0.expectation): \($0.observed)" } + (part.error.map { ["\(part.name): \($0)"] } ?? [])
        }.joined(separator: "\n")
    }

    static func figure(_ report: ScenarioReport, part: Int = 0, _ prefix: String) -> Double? {
        report.parts[part].figures.first { $0.name.hasPrefix(prefix) }?.value
    }

    @Test("scenario list names every scenario, and an unknown one is refused with the names")
    func list() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let text = try sandbox.run(["scenario", "list"])
        for scenario in ScenarioCatalog.all { #expect(text.contains(scenario.name)) }
        #expect(ScenarioCatalog.all.count >= 7)
        #expect(throws: (any Error).self) { try sandbox.run(["scenario", "run", "no-such-scenario"]) }
    }

    @Test("notify-switches-off: no RARP, the outage ends at web01's own ARP reply")
    func notifySwitchesOff() throws {
        try RootEnvironment.require()
        let (report, status) = try Self.run("notify-switches-off")
        #expect(report.passed && status == 0, "\(Self.failures(report))")
        #expect((Self.figure(report, "pings lost") ?? 0) > 0)
    }

    @Test("holddown-switch: every RARP ignored, the outage at least the hold-down")
    func holdDown() throws {
        try RootEnvironment.require()
        let (report, status) = try Self.run("holddown-switch")
        #expect(report.passed && status == 0, "\(Self.failures(report))")
        #expect((Self.figure(report, "move-ignored events") ?? 0) >= 1)
        #expect((Self.figure(report, "longest ping gap") ?? 0) >= 3000 - 5)
    }

    @Test("lost-announces: relearned at the first RARP delivered")
    func lostAnnounces() throws {
        try RootEnvironment.require()
        let (report, status) = try Self.run("lost-announces")
        #expect(report.passed && status == 0, "\(Self.failures(report))")
        #expect((Self.figure(report, "relearn after resume") ?? 0) > 100, "the third RARP goes out 200 ms after resume")
    }

    @Test("vlan-mismatch: refused with --strict-vlan, unreachable without")
    func vlanMismatch() throws {
        try RootEnvironment.require()
        let (report, status) = try Self.run("vlan-mismatch")
        #expect(report.parts.count == 2)
        #expect(report.passed && status == 0, "\(Self.failures(report))")
    }

    @Test("mac-spoof: a flap and a conflict; none with port security or forged-transmit rejection")
    func macSpoof() throws {
        try RootEnvironment.require()
        let (report, status) = try Self.run("mac-spoof")
        #expect(report.parts.count == 3)
        #expect(report.passed && status == 0, "\(Self.failures(report))")
        #expect((Self.figure(report, part: 2, "forged frames dropped") ?? 0) > 0)
    }

    @Test("slow-vmotion-link: more rounds and throttling at 1 Gbit/s")
    func slowLink() throws {
        try RootEnvironment.require()
        let (report, status) = try Self.run("slow-vmotion-link")
        #expect(report.passed && status == 0, "\(Self.failures(report))")
        let limited = try #require(Self.figure(report, "1 Gbit/s: pre-copy rate"))
        #expect(limited <= 1100)
    }

    @Test("mtu-mismatch: the DF probe fails, the preflight refuses, the stalled stream leaves web01 on esx01")
    func mtuMismatch() throws {
        try RootEnvironment.require()
        let (report, status) = try Self.run("mtu-mismatch")
        #expect(report.passed && status == 0, "\(Self.failures(report))")
        #expect((Self.figure(report, "oversize frames dropped") ?? 0) > 0)
    }
}
