import Foundation
import L2Control
import L2Daemons
import L2Edge
import L2Lab
import L2Switch
import L2Wire
import Testing

/// The live migration for real: web01 esx01 → esx02 over the vMotion segment (kernel TCP on vmk1,
/// port 8000), while the kernel's ping runs every 10 ms from client01.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct MigrationIntegrationTests {
    static let webMAC = MACAddress("00:50:56:00:00:10")!

    @Test("no ping lost, MAC relearned on esx02 by RARP, TCP 8000 captured, UDP counter continues, copy proved exact")
    func migrateUnderPing() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }
        let before = try lab.host("esx01", HostCall.vmStats("web01")).statistics.udpCounter
        let probe = try lab.exec("client01", [RootEnvironment.binary, "udp-probe", "10.10.0.10", "--count", "3", "--interval", "10"])
        let counterBefore = UDPProbeReport.parse(probe).after
        #expect(counterBefore == before + 3)

        let pingLog = lab.sandbox.directory + "/ping.txt"
        let ping = try ChildProcess(["ip", "netns", "exec", lab.namespace("client01"), "ping", "-D", "-O", "-n", "-i", "0.01", "10.10.0.10"], logPath: pingLog)
        // Pings answered before and after the move: wait for the replies themselves, not for time.
        func replies() -> Int {
            Sandbox.pingReplies(in: pingLog)
        }
        #expect(lab.sandbox.waitUntil(seconds: 10) { replies() >= 30 }, "the VM answers before the migration")
        let output = try lab.run(["migrate", "web01", "--to", "esx02", "--downtime", "5", "--json"])
        let repliesAtEnd = replies()
        #expect(lab.sandbox.waitUntil(seconds: 10) { replies() >= repliesAtEnd + 30 }, "the VM answers after the migration")
        let stoppedAt = SystemClock.wallNanoseconds()
        ping.signal(SIGINT)
        _ = ping.wait(seconds: 3)

        let report = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(output.utf8))
        #expect(report.result.status.rawValue == "completed", "\(output)")
        #expect(report.runsOn == "esx02")
        #expect(report.result.verified, "the copy was proved exact")
        #expect(report.result.ram.duplicate > 0, "zero pages were sent as flags")
        #expect(report.result.ram.dirtySyncCount >= 1)
        #expect(report.announce.count == 5, "five RARPs on QEMU's schedule: \(report.announce)")
        #expect(report.relearnMs != nil && report.relearnFrame != nil, "the switch logged the station move")

        let pingReport = PingParser.parse(try String(contentsOfFile: pingLog, encoding: .utf8), nominalIntervalMs: 10, stoppedAtNs: stoppedAt)
        #expect(pingReport.sent > 50)
        #expect(pingReport.lost == 0, "lost icmp_seq \(pingReport.lostSequences)")

        let table = try lab.switchCall("pswitch", SwitchCall.macTable)
        #expect(table.first { $0.mac == Self.webMAC }?.portName == "esx02")

        let stun = try #require(report.stunAt)
        let rarps = try lab.tshark("pswitch", filter: "arp.opcode == 3 && eth.src == 00:50:56:00:00:10", fields: ["frame.time_epoch", "frame.number"])
        let afterStun = rarps.filter { line in
            (Double(line.split(separator: "\t")[0]) ?? 0) * 1e9 >= Double(stun) - 1e6
        }
        #expect(afterStun.count == 5, "tshark decodes the five RARPs after the stun: \(rarps)")
        #expect(afterStun.compactMap { UInt64($0.split(separator: "\t")[1]) } == report.announceFrames)

        let vmotion = try lab.tshark("vmotion", filter: "tcp.port == 8000", fields: ["ip.src", "ip.dst"])
        #expect(vmotion.count > 100 && vmotion.contains("192.168.100.11\t192.168.100.12"), "the vMotion capture holds the TCP 8000 stream")

        let after = try lab.exec("client01", [RootEnvironment.binary, "udp-probe", "10.10.0.10", "--count", "2", "--interval", "10"])
        let counters = UDPProbeReport.parse(after)
        #expect(counters.before == (counterBefore ?? 0) + 1, "the counter continues from its value before the migration")

        let esx01 = try lab.host("esx01", HostCall.listVMs())
        #expect(esx01.isEmpty, "the source dropped its copy")

        // Back with QEMU's convergence rule (the first fit switches over): the host takes the setting;
        // a share outside 0...1 is refused before anything starts.
        do {
            _ = try lab.run(["migrate", "web01", "--to", "esx01", "--switchover-share", "2"])
            Issue.record("a switchover share of 2 was accepted")
        } catch let error as CommandError {
            #expect(error.standardError.contains("--switchover-share must be a finite number between 0 and 1, not 2"), "\(error.standardError)")
        }
        let back = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(
            try lab.run(["migrate", "web01", "--to", "esx01", "--switchover-share", "1", "--json"]).utf8))
        #expect(back.result.status.rawValue == "completed" && back.runsOn == "esx01", "\(back.outcome)")
    }

    @Test("preflight refuses a case-different port group and an unshared datastore; nothing changes", arguments: [
        ("production", "[ds01]", "port group \"Production\" not found on esx02"),
        ("Production", "[]", "datastore ds01"),
    ])
    func preflightRefusals(portGroup: String, datastores: String, message: String) throws {
        try RootEnvironment.require()
        let lab = try TestLab(yaml: { TestLab.yaml(name: $0, esx02PortGroup: portGroup, esx02Datastores: datastores) })
        defer { lab.tearDown() }
        let tableBefore = try lab.switchCall("pswitch", SwitchCall.macTable)
        do {
            _ = try lab.run(["migrate", "web01", "--to", "esx02"])
            Issue.record("the migration was accepted")
        } catch let error as CommandError {
            #expect(error.standardError.contains(message), "\(error.standardError)")
        }
        let source = try lab.host("esx01", HostCall.listVMs())
        #expect(source.first?.statistics.state.rawValue == "running", "web01 still runs on esx01")
        #expect(try lab.host("esx02", HostCall.listVMs()).isEmpty)
        let tableAfter = try lab.switchCall("pswitch", SwitchCall.macTable)
        #expect(tableAfter.first { $0.mac == Self.webMAC }?.portName == tableBefore.first { $0.mac == Self.webMAC }?.portName)
        #expect(try lab.exec("client01", ["ping", "-c", "1", "-W", "1", "10.10.0.10"]).contains("1 received"))
    }

    @Test("the VM migrates back and forth and keeps its memory: the UDP counter never goes backwards")
    func backAndForth() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }
        var last: UInt64 = 0
        for destination in ["esx02", "esx01", "esx02"] {
            _ = try lab.run(["migrate", "web01", "--to", destination, "--downtime", "5"])
            let probe = UDPProbeReport.parse(try lab.exec("client01", [RootEnvironment.binary, "udp-probe", "10.10.0.10", "--count", "2", "--interval", "10"]))
            let first = try #require(probe.before)
            #expect(first > last, "counter after moving to \(destination): \(first), before: \(last)")
            last = probe.after ?? first
        }
        let stats = try lab.host("esx02", HostCall.vmStats("web01"))
        #expect(stats.statistics.migrationCount == 3)
    }
}
