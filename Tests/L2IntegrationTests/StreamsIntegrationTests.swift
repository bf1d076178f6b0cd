import Foundation
import L2Control
import L2Edge
import L2Lab
import L2Migration
import L2Switch
import Testing

/// Several streams for real: web01's pages over two TCP connections on the vMotion segment, and with
/// Multi-NIC vMotion over both hosts' vmk1 and vmk2 (two vMotion switches).
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct StreamsIntegrationTests {
    /// The Multi-NIC example lab, as small as `TestLab.yaml`'s.
    static func multiNICYAML(name: String) -> String {
        TestLab.yaml(name: name, memory: 256, touched: 96, base: MultiNICTopology.yaml)
    }

    static func report(_ output: String) throws -> MigrationReport {
        try ControlJSON.decoder.decode(MigrationReport.self, from: Data(output.utf8))
    }

    /// Bytes each host port of a vMotion switch sent towards `host` (its TX counter).
    static func bytesTowards(_ host: String, on switchName: String, in lab: TestLab) throws -> UInt64 {
        try #require(try lab.switchCall(switchName, SwitchCall.counters).first { $0.name == host }).txBytes
    }

    @Test("two streams in the default lab: completed, copy verified, both lanes carried pages, no ping lost")
    func twoStreams() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }
        let pingLog = lab.sandbox.directory + "/ping.txt"
        let ping = try ChildProcess(["ip", "netns", "exec", lab.namespace("client01"), "ping", "-D", "-O", "-n", "-i", "0.01", "10.10.0.10"], logPath: pingLog)
        func replies() -> Int {
            Sandbox.pingReplies(in: pingLog)
        }
        #expect(lab.sandbox.waitUntil(seconds: 10) { replies() >= 30 }, "the VM answers before the migration")
        let report = try Self.report(try lab.run(["migrate", "web01", "--to", "esx02", "--streams", "2", "--downtime", "5", "--json"]))
        let repliesAtEnd = replies()
        #expect(lab.sandbox.waitUntil(seconds: 10) { replies() >= repliesAtEnd + 30 }, "the VM answers after the migration")
        let stoppedAt = SystemClock.wallNanoseconds()
        ping.signal(SIGINT)
        _ = ping.wait(seconds: 3)

        #expect(report.result.status == .completed, "\(report.outcome)")
        #expect(report.result.verified && report.runsOn == "esx02")
        let lanes = try #require(report.result.lanes)
        #expect(lanes.map(\.lane) == [0, 1] && lanes.allSatisfy { $0.interface == "vmk1" })
        #expect(lanes.allSatisfy { $0.bytes > 8 << 20 }, "both lanes carried pages: \(lanes.map(\.bytes))")
        #expect(lanes.reduce(0) { $0 + $1.bytes } == report.result.ram.transferred)
        let first = try #require(report.result.rounds.first?.laneBytes)
        #expect(first.count == 2 && first.allSatisfy { $0 > 0 })
        #expect(report.preflight.contains { $0.contains("2 lanes, all over vmk1") }, "\(report.preflight)")

        let pingReport = PingParser.parse(try String(contentsOfFile: pingLog, encoding: .utf8), nominalIntervalMs: 10, stoppedAtNs: stoppedAt)
        #expect(pingReport.sent > 50)
        #expect(pingReport.lost == 0, "lost icmp_seq \(pingReport.lostSequences)")

        // Two connections to the listener on the vMotion segment (each SYN once).
        let syns = try lab.tshark("vmotion", filter: "tcp.dstport == 8000 && tcp.flags.syn == 1 && tcp.flags.ack == 0", fields: ["tcp.srcport"])
        #expect(Set(syns).count == 2, "\(syns)")
        #expect(try lab.host("esx01", HostCall.listVMs()).isEmpty, "the source dropped its copy")
    }

    @Test("Multi-NIC vMotion: two streams leave from vmk1 and vmk2, and both vMotion switches carry their bytes")
    func multiNIC() throws {
        try RootEnvironment.require()
        let lab = try TestLab(yaml: { Self.multiNICYAML(name: $0) })
        defer { lab.tearDown() }
        let info = try lab.host("esx02", HostCall.hostInfo)
        #expect(info.vmotionNICs?.map(\.interface) == ["vmk1", "vmk2"])
        let before = (try Self.bytesTowards("esx02", on: "vmotion", in: lab), try Self.bytesTowards("esx02", on: "vmotion2", in: lab))
        let report = try Self.report(try lab.run(["migrate", "web01", "--to", "esx02", "--streams", "2", "--json"]))
        #expect(report.result.status == .completed && report.result.verified && report.runsOn == "esx02", "\(report.outcome)")
        let lanes = try #require(report.result.lanes)
        #expect(lanes.map(\.interface) == ["vmk1", "vmk2"])
        #expect(report.preflight.contains { $0.hasPrefix("Multi-NIC vMotion: 2 lanes alternate over vmk1 192.168.100.11 → 192.168.100.12, vmk2 192.168.101.11 → 192.168.101.12") },
                "\(report.preflight)")
        // Each switch forwarded at least its lane's bytes towards esx02 (TCP/IP and Ethernet headers on top).
        let vmotion = try Self.bytesTowards("esx02", on: "vmotion", in: lab) - before.0
        let vmotion2 = try Self.bytesTowards("esx02", on: "vmotion2", in: lab) - before.1
        #expect(vmotion >= UInt64(lanes[0].bytes) && vmotion2 >= UInt64(lanes[1].bytes), "vmotion \(vmotion), vmotion2 \(vmotion2), lanes \(lanes.map(\.bytes))")
        #expect(lanes[1].bytes > 8 << 20, "vmk2 carried a real share: \(lanes.map(\.bytes))")
        // And back with four streams: lanes 0 and 2 over vmk1, 1 and 3 over vmk2.
        let back = try Self.report(try lab.run(["migrate", "web01", "--to", "esx01", "--streams", "4", "--json"]))
        #expect(back.result.status == .completed && back.runsOn == "esx01", "\(back.outcome)")
        #expect(back.result.lanes?.map(\.interface) == ["vmk1", "vmk2", "vmk1", "vmk2"])
    }

    @Test("vmk2's segment cut during round 1: the migration fails naming lane 1, the VM keeps running on the source only; once the link is back it migrates")
    func laneCutDuringRound1() throws {
        try RootEnvironment.require()
        let lab = try TestLab(yaml: { Self.multiNICYAML(name: $0) })
        defer { lab.tearDown() }
        let directory = LabDirectory(lab: lab.name)
        var options = MigrationOptions()
        options.streams = 2
        options.downtimeMs = 5
        options.stallSeconds = 1
        options.maxSeconds = 30
        // Hold the source once round 1 is under way, and cut the second vMotion segment at esx02's port.
        options.fault = FaultPlan(point: .round1, action: .hold, holdMs: 300)
        options.onHold = { _ in _ = try? directory.switchCall("vmotion2", SwitchCall.setPort("esx02", .down)) }
        let coordinator = MigrationCoordinator(lab: lab.name)
        let report = try coordinator.migrate(vm: "web01", to: "esx02", options: options)
        #expect(report.result.status == .failed, "\(report.outcome)")
        let error = report.result.error ?? ""
        #expect(error.hasPrefix("lane 1 (vmk2) to the destination"), "\(error)")
        #expect(error.contains("the VM stays on the source"), "\(error)")
        #expect(report.runsOn == "esx01")
        // Exactly one copy, running, answering; the destination holds nothing.
        #expect(lab.sandbox.waitUntil(seconds: 5) { (try? lab.host("esx02", HostCall.listVMs()))?.isEmpty == true })
        #expect(try lab.host("esx01", HostCall.listVMs()).first?.statistics.state.rawValue == "running")
        #expect(try lab.exec("client01", ["ping", "-c", "1", "-W", "1", "10.10.0.10"]).contains("1 received"))
        let destination = try lab.host("esx02", HostCall.migrationStatus(report.id))
        #expect(destination.status == .discarded && !destination.vmHere, "\(destination.status) \(destination.error ?? "")")

        _ = try lab.switchCall("vmotion2", SwitchCall.setPort("esx02", .up))
        let again = try Self.report(try lab.run(["migrate", "web01", "--to", "esx02", "--streams", "2", "--json"]))
        #expect(again.result.status == .completed && again.runsOn == "esx02", "\(again.outcome)")
    }
}
