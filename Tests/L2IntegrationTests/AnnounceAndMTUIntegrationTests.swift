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

    @Test("IPv6: client01 pings web01's ULA and link-local address; after a migration the destination sends an unsolicited NA (override) per address with each RARP, none with --announce-ipv6 none")
    func ipv6PingAndUnsolicitedAdvertisements() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }
        func ping(_ target: String) throws {
            let output = try lab.exec("client01", ["ping", "-6", "-n", "-c", "3", "-i", "0.2", "-W", "2", target])
            #expect(output.contains(" 3 received"), "ping -6 \(target): \(output)")
        }
        try ping("fd00:10:10::10")
        try ping("fe80::250:56ff:fe00:10%eth0")
        let before = try #require(try lab.host("esx01", HostCall.listVMs()).first)
        #expect(before.ipv6Summary == "fd00:10:10::10/64, fe80::250:56ff:fe00:10")
        #expect(before.statistics.responder.echoV6Replies == 6 && before.statistics.responder.neighborAdvertisements >= 2,
                "\(before.statistics.responder)")

        /// Unsolicited NAs from web01 (override set, solicited clear) captured at or after `time` (wall ns).
        func advertisements(after time: UInt64) throws -> [String] {
            try lab.tshark("pswitch", filter: "icmpv6.type == 136 && icmpv6.nd.na.flag.o == 1 && icmpv6.nd.na.flag.s == 0 && eth.src == 00:50:56:00:00:10",
                           fields: ["frame.time_epoch", "icmpv6.nd.na.target_address", "ipv6.dst", "ipv6.hlim"])
                .filter { (Double($0.split(separator: "\t").first ?? "") ?? 0) * 1e9 >= Double(time) }
        }

        let moved = try Self.report(try lab.run(["migrate", "web01", "--to", "esx02", "--json"]))
        #expect(moved.runsOn == "esx02", "\(moved.outcome)")
        #expect(moved.announce.count == 5 && moved.announceNAs == 10, "\(moved.announce) \(String(describing: moved.announceNAs))")
        let resumed = try #require(moved.resumedAt)
        let sent = try advertisements(after: resumed)
        #expect(sent.count == 10, "\(sent)")
        #expect(sent.filter { $0.contains("\tfd00:10:10::10\t") }.count == 5 && sent.filter { $0.contains("\tfe80::250:56ff:fe00:10\t") }.count == 5)
        #expect(sent.allSatisfy { $0.hasSuffix("\tff02::1\t255") }, "\(sent)")
        #expect(try lab.host("esx02", HostCall.listVMs()).first?.statistics.responder.unsolicitedNAs == 10)
        let text = try lab.run(["migrate", "web01", "--to", "esx01"])
        #expect(text.contains(" ms after resume + 10 unsolicited NAs"), "\(text)")
        try ping("fd00:10:10::10")
        try ping("fe80::250:56ff:fe00:10%eth0")

        let silent = try Self.report(try lab.run(["migrate", "web01", "--to", "esx02", "--announce-ipv6", "none", "--json"]))
        #expect(silent.runsOn == "esx02", "\(silent.outcome)")
        #expect(silent.announce.count == 5 && silent.announceNAs == nil)
        #expect(try advertisements(after: try #require(silent.resumedAt)).isEmpty)
        try ping("fd00:10:10::10")
    }
}
