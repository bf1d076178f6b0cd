import Foundation
import L2Control
import L2Edge
import L2Lab
import Testing

/// The announce knobs and the MTU preflight on a real lab: Notify Switches off, announces dropped
/// by a fault, and a vMotion segment whose switch ports are smaller than the vmks' MTU.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct AnnounceAndMTUIntegrationTests {
    static func report(_ output: String) throws -> MigrationReport {
        try ControlJSON.decoder.decode(MigrationReport.self, from: Data(output.utf8))
    }

    @Test("--announce none sends no RARP: the report has none and no relearn by an announce; --drop-announces 2 drops two")
    func announceNoneAndDropped() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }
        // The client's ping keeps web01 talking, so its own replies move the MAC without any RARP.
        let ping = try ChildProcess(["ip", "netns", "exec", lab.namespace("client01"), "ping", "-n", "-q", "-i", "0.01", "10.10.0.10"],
                                    logPath: lab.sandbox.directory + "/ping.txt")
        defer {
            ping.signal(SIGINT)
            _ = ping.wait(seconds: 3)
        }
        let silent = try Self.report(try lab.run(["migrate", "web01", "--to", "esx02", "--announce", "none", "--json"]))
        #expect(silent.runsOn == "esx02", "\(silent.outcome)")
        #expect(silent.announce.isEmpty && silent.announceFrames.isEmpty && silent.announceDropped.isEmpty)
        #expect(!silent.notifySwitches)
        #expect(silent.relearnByAnnounce != true, "no relearn by an announce when none was sent")
        #expect(silent.destinationPort?.name == "esx02")
        #expect(silent.relearnByAnnounce == false && (silent.relearnMs ?? -1) >= 0,
                "web01's own reply to the ping, after the resume, moved it: \(String(describing: silent.relearnMs))")
        #expect(silent.stationConflicts.isEmpty)
        #expect(RelearnText.noAnnounce(silent) == "no RARP sent: Notify Switches off (--announce none)")
        let stun = try #require(silent.stunAt)
        let rarps = try lab.tshark("pswitch", filter: "arp.opcode == 3 && eth.src == 00:50:56:00:00:10", fields: ["frame.time_epoch"])
        #expect(!rarps.contains { (Double($0) ?? 0) * 1e9 >= Double(stun) }, "no RARP from web01 after the stun: \(rarps)")
        let text = try lab.run(["migrate", "web01", "--to", "esx01", "--announce", "none"])
        #expect(text.contains("  no RARP sent: Notify Switches off (--announce none)\n"), "\(text)")

        let dropped = try Self.report(try lab.run(["migrate", "web01", "--to", "esx02", "--drop-announces", "2", "--json"]))
        #expect(dropped.runsOn == "esx02", "\(dropped.outcome)")
        #expect(dropped.announceDropped.count == 2 && dropped.announce.count == 3, "\(dropped.announceDropped) \(dropped.announce)")
        #expect(dropped.announceFrames.count == 3)
        #expect(dropped.stationConflicts.isEmpty)
        #expect(dropped.relearnMs.map { $0 >= 0 } ?? false, "relearned after the resume")
        #expect(RelearnText.dropped(dropped) == "announce 1..2 dropped (fault)")
    }

    @Test("the MTU preflight refuses a vMotion segment whose switch ports carry 1500 bytes under 9000-byte vmks; nothing moves")
    func mtuPreflightRefuses() throws {
        try RootEnvironment.require()
        // The vMotion switch's ports at 1500, then both vmks raised to 9000 on the kernel side: the
        // switch drops every frame over 1514 bytes as oversize, as a 1500-byte physical port would.
        let lab = try TestLab(yaml: { name in
            TestLab.yaml(name: name).replacingOccurrences(of: "mtu: 9000", with: "mtu: 1500")
        })
        defer { lab.tearDown() }
        for host in ["esx01", "esx02"] { _ = try lab.exec(host, ["ip", "link", "set", "vmk1", "mtu", "9000"]) }
        do {
            _ = try lab.run(["migrate", "web01", "--to", "esx02"])
            Issue.record("the migration was accepted over a path that drops 9000-byte frames")
        } catch let error as CommandError {
            #expect(error.standardError.contains(
                "the vMotion path esx01 vmk1 → 192.168.100.12 does not carry 9000-byte frames with DF set: no reply to 2 probes (ping -M do -s 8972); check the vMotion switch port's and the vmk's MTU"),
                "\(error.standardError)")
        }
        #expect(try lab.host("esx01", HostCall.listVMs()).first?.statistics.state.rawValue == "running", "web01 still runs on esx01")
        #expect(try lab.host("esx02", HostCall.listVMs()).isEmpty)

        // The source's vmk back at the segment's 1500: the probe fills 1500 bytes and passes.
        _ = try lab.exec("esx01", ["ip", "link", "set", "vmk1", "mtu", "1500"])
        let report = try Self.report(try lab.run(["migrate", "web01", "--to", "esx02", "--json"]))
        #expect(report.runsOn == "esx02", "\(report.outcome)")
        #expect(report.preflight.contains("MTU: vmk1 → 192.168.100.12 carries 1500-byte frames with DF set (ping -M do -s 1472)"), "\(report.preflight)")
    }
}
