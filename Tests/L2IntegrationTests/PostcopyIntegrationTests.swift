import Foundation
import L2Control
import L2Edge
import L2Guest
import L2Lab
import L2Migration
import Testing

/// Post-copy and hybrid on real hosts: the VM resumes on the destination at once and the pages it
/// lacks follow (those it touches first), under the kernel's ping and the UDP counter; a cut vMotion
/// link pauses it there until `migrate --recover`; a source that dies meanwhile loses it, and the
/// report says so.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct PostcopyIntegrationTests {
    /// The default lab with web01 running the `db` workload at `dirtyRate` MiB/s.
    static func lab(memory: Int = 256, touched: Int = 128, dirtyRate: Int? = nil) throws -> TestLab {
        try TestLab(yaml: { name in
            var text = TestLab.yaml(name: name, memory: memory, touched: touched, workload: "db")
            if let dirtyRate { text = text.replacingOccurrences(of: "    workload: db\n", with: "    workload: db\n    dirty-rate: \(dirtyRate)\n") }
            return text
        })
    }

    func udpCounter(_ lab: TestLab) throws -> UInt64? {
        UDPProbeReport.parse(try lab.exec("client01", [RootEnvironment.binary, "udp-probe", "10.10.0.10", "--count", "2", "--interval", "10"])).after
    }

    @Test("post-copy of a db VM under ping: it resumes at once, its faults are served, the copy is proved, nothing is lost")
    func postcopyUnderPing() throws {
        try RootEnvironment.require()
        let lab = try Self.lab()
        defer { lab.tearDown() }
        let before = try #require(try udpCounter(lab))
        let ping = try lab.sandbox.spawn(["ip", "netns", "exec", lab.namespace("client01"), "ping", "-D", "-O", "-n", "-i", "0.01", "10.10.0.10"], log: "ping")
        let log = lab.sandbox.directory + "/ping.log"
        func replies() -> Int { Sandbox.pingReplies(in: log) }
        #expect(lab.sandbox.waitUntil { replies() >= 30 })
        let report = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(
            try lab.run(["migrate", "web01", "--to", "esx02", "--mode", "postcopy", "--json"]).utf8))
        let atEnd = replies()
        #expect(lab.sandbox.waitUntil { replies() >= atEnd + 30 })
        let stoppedAt = SystemClock.wallNanoseconds()
        ping.signal(SIGINT)
        _ = ping.wait(seconds: 3)
        #expect(report.result.status.rawValue == "completed" && report.runsOn == "esx02", "\(report.outcome)")
        #expect(report.result.mode == .postcopy)
        #expect(report.result.verified, "the destination proved its memory is the source's at the switchover")
        let stats = try #require(report.result.postcopy)
        #expect(stats.pages > 0 && stats.bytes > 0 && stats.durationMs != nil)
        #expect(report.result.rounds.count == 1, "only the hot pages before the resume: \(report.result.rounds)")
        #expect(stats.faults != nil, "the destination's fault figures are in the report")
        #expect(report.relearnMs != nil, "the switch relearned on the destination's RARP")
        let pings = PingParser.parse(try String(contentsOfFile: log, encoding: .utf8), nominalIntervalMs: 10, stoppedAtNs: stoppedAt)
        #expect(pings.lost == 0, "lost icmp_seq \(pings.lostSequences)")
        let after = UDPProbeReport.parse(try lab.exec("client01", [RootEnvironment.binary, "udp-probe", "10.10.0.10", "--count", "2", "--interval", "10"]))
        #expect(after.before == before + 1, "the UDP counter in guest memory continues")
        #expect(try lab.host("esx01", HostCall.listVMs()).isEmpty, "the source released its copy")
        // The text report names the post-copy figures.
        let back = try lab.run(["migrate", "web01", "--to", "esx01", "--mode", "postcopy"])
        #expect(back.contains("post-copy  postcopy: ") && back.contains("postcopy-requests"), "\(back)")
    }

    @Test("hybrid: a VM dirtying faster than the link switches to post-copy instead of being throttled")
    func hybrid() throws {
        try RootEnvironment.require()
        let lab = try Self.lab(dirtyRate: 3000)
        defer { lab.tearDown() }
        let report = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(
            try lab.run(["migrate", "web01", "--to", "esx02", "--mode", "hybrid", "--json"]).utf8))
        #expect(report.result.status.rawValue == "completed" && report.runsOn == "esx02", "\(report.outcome)")
        #expect(report.result.rounds.count >= 1, "pre-copy ran first")
        #expect(report.result.postcopy != nil, "the switch to post-copy took effect: \(report.result.rounds.count) rounds")
        #expect(report.result.cpuThrottlePercentage == 0)
        #expect(report.result.verified)
    }

    @Test("a cut vMotion link pauses the VM on the destination; --recover finishes; a lost source loses the VM")
    func pauseRecoverAndLoss() throws {
        try RootEnvironment.require()
        let lab = try Self.lab(memory: 2048, touched: 1536)
        defer { lab.tearDown() }
        let before = try #require(try udpCounter(lab))
        // Refused before anything is paused.
        let nothing = try lab.refusal(["migrate", "web01", "--recover"])
        #expect(nothing.contains("no migration of web01 is paused in post-copy"), "\(nothing)")

        let paused = try Self.cutDuringPostcopy(lab, log: "migrate", repair: false)
        #expect(paused.contains("postcopy-paused") && paused.contains("migrate --recover web01"), "\(paused)")
        #expect(try lab.host("esx02", HostCall.vmStats("web01")).statistics.state == .paused)
        #expect(try lab.host("esx01", HostCall.vmStats("web01")).statistics.state == .stunned, "the source keeps the frozen memory")
        _ = try lab.run(["port", "vmotion", "esx02", "up"])
        let recovered = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(try lab.run(["migrate", "web01", "--recover", "--json"]).utf8))
        #expect(recovered.result.status.rawValue == "completed" && recovered.runsOn == "esx02", "\(recovered.outcome)")
        #expect(recovered.result.postcopy?.pauses == 1)
        #expect(recovered.result.verified)
        let after = UDPProbeReport.parse(try lab.exec("client01", [RootEnvironment.binary, "udp-probe", "10.10.0.10", "--count", "2", "--interval", "10"]))
        #expect(after.before == before + 1, "the UDP counter continues across pause and recovery")

        // Back to esx01 with post-copy, cut again, and the source (esx02 now) dies: the VM is lost.
        _ = try lab.run(["migrate", "web01", "--to", "esx01"])
        let second = try Self.cutDuringPostcopy(lab, log: "migrate2", repair: true)
        #expect(second.contains("postcopy-paused"), "\(second)")
        let sourcePID = try #require(lab.state.processes.first { $0.role == "host" && $0.name == "esx01" }?.pid)
        #expect(kill(sourcePID, SIGKILL) == 0)
        // Gone, not merely slow: a dying daemon's socket still queues connections for a moment.
        #expect(lab.sandbox.waitUntil { !FileManager.default.fileExists(atPath: "/proc/\(sourcePID)") })
        // It exits 1 (the VM runs nowhere): read what it printed from its log.
        let recovery = try lab.sandbox.l2motion(["migrate", "web01", "--recover", "--lab", lab.name, "--json"], log: "lost")
        #expect(recovery.wait(seconds: 60) != nil)
        let lost = lab.sandbox.logText("lost")
        let decoded = try? ControlJSON.decoder.decode(MigrationReport.self, from: Data(String(lost[(lost.firstIndex(of: "{") ?? lost.startIndex)...]).utf8))
        let report = try #require(decoded, "the recovery's report: \(lost)")
        #expect(report.outcome.contains("web01 is LOST"), "\(report.outcome)")
        #expect(report.runsOn == nil)
        #expect(try lab.host("esx02", HostCall.listVMs()).isEmpty, "the destination stopped and dropped the VM")
    }

    /// Moves web01 esx01 → esx02 with post-copy and takes the vMotion link down once the VM runs on
    /// esx02 while esx01 still holds it stunned; returns what `migrate` printed (`repair`: the link
    /// comes back up after).
    static func cutDuringPostcopy(_ lab: TestLab, log: String, repair: Bool) throws -> String {
        let migration = try lab.sandbox.l2motion(["migrate", "web01", "--to", "esx02", "--mode", "postcopy", "--json", "--lab", lab.name], log: log)
        let active = lab.sandbox.waitUntil(seconds: 30) {
            (try? lab.host("esx02", HostCall.vmStats("web01")))?.statistics.state == .running
                && (try? lab.host("esx01", HostCall.vmStats("web01")))?.statistics.state == .stunned
        }
        #expect(active, "post-copy under way: \(lab.sandbox.logText(log))")
        _ = try lab.run(["port", "vmotion", "esx02", "down"])
        #expect(migration.wait(seconds: 60) != nil)
        if repair { _ = try lab.run(["port", "vmotion", "esx02", "up"]) }
        return lab.sandbox.logText(log)
    }

    @Test("bad modes and recoveries are refused with what to do")
    func refusals() throws {
        try RootEnvironment.require()
        let lab = try Self.lab(memory: 128, touched: 16)
        defer { lab.tearDown() }
        for (arguments, message) in [
            (["migrate", "web01", "--to", "esx02", "--mode", "lazy"], "--mode"),
            (["migrate", "web01", "--to", "esx02", "--mode", "postcopy", "--streams", "2"], "--mode postcopy runs over one stream"),
            (["migrate", "web01", "--to", "esx02", "--recover"], "--recover resumes the migration of web01 in progress; it takes no --to"),
            (["migrate", "web01"], "give the destination host with --to HOST"),
            (["migrate", "web02", "--recover"], "no migration of web02 is paused in post-copy"),
        ] {
            let refusal = try lab.refusal(arguments)
            #expect(refusal.contains(message), "\(arguments): \(refusal)")
        }
        #expect(try lab.host("esx01", HostCall.listVMs()).map(\.name) == ["web01"], "nothing moved")
    }
}
