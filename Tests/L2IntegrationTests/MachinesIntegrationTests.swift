import Foundation
import L2Control
import L2Edge
import L2Lab
import L2Switch
import L2Wire
import Testing

/// A lab across machines for real, with the two machines as two parts on this one (`MachinesLab`):
/// web01 moves from esx01 on machine a to esx02 on machine b over the vMotion segment's VXLAN tunnel
/// under the kernel's ping, both machines' switches relearn, and it comes back; a cut underlay leaves
/// the VM on exactly one host; bad machines are refused before anything changes.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct MachinesIntegrationTests {
    static let webMAC = MACAddress("00:50:56:00:00:10")!

    @Test("web01 moves a → b and back under ping: relearned on both switches, no ping lost, UDP counter continuous")
    func migrateAcrossMachines() throws {
        try RootEnvironment.require()
        let lab = try MachinesLab()
        defer { lab.tearDown() }
        // Each machine's status shows its own part and its relay.
        let statusA = try CommandRunner.run([RootEnvironment.binary, "lab", "status", "--name", lab.name, "--machine", "a"])
        #expect(statusA.contains("machine a of lab \(lab.name)") && statusA.contains("vx-b"), "\(statusA)")

        let probe = UDPProbeReport.parse(try lab.exec("a", "client01", [RootEnvironment.binary, "udp-probe", "10.10.0.10", "--count", "3", "--interval", "10"]))
        let counterBefore = try #require(probe.after, "the VM's UDP counter answers before the move")

        let ping = try lab.sandbox.spawn(["ip", "netns", "exec", lab.namespace("a", "client01"), "ping", "-D", "-O", "-n", "-i", "0.01", "10.10.0.10"], log: "ping")
        func replies() -> Int {
            Sandbox.pingReplies(in: lab.sandbox.directory + "/ping.log")
        }
        #expect(lab.sandbox.waitUntil(seconds: 10) { replies() >= 30 }, "the VM answers before the migration")
        let output = try lab.run(["migrate", "web01", "--to", "esx02", "--downtime", "5", "--json"], on: "a")
        let repliesAtEnd = replies()
        #expect(lab.sandbox.waitUntil(seconds: 10) { replies() >= repliesAtEnd + 30 }, "the VM answers after the migration")
        let stoppedAt = SystemClock.wallNanoseconds()
        ping.signal(SIGINT)
        _ = ping.wait(seconds: 3)

        let report = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(output.utf8))
        #expect(report.result.status.rawValue == "completed", "\(output)")
        #expect(report.runsOn == "esx02")
        #expect(report.result.verified, "the copy was proved exact")
        #expect(report.preflight.contains { $0.hasPrefix("shared storage: datastore ds01") }, "\(report.preflight)")
        // Both machines' switches relearned on the first RARP: b onto esx02's uplink, a onto its tunnel to b.
        #expect(report.switchRelearns.map(\.machine) == ["b", "a"], "\(report.switchRelearns)")
        let onB = try #require(report.switchRelearns.first)
        let onA = try #require(report.switchRelearns.last)
        #expect(onB.port?.name == "esx02" && onA.port?.name == "vx-b", "\(report.switchRelearns)")
        #expect(onB.relearnMs != nil && onB.byAnnounce == true, "\(onB)")
        #expect(onA.relearnMs != nil && onA.byAnnounce == true, "\(onA)")
        #expect(report.relearnMs == onB.relearnMs && report.destinationPort?.name == "esx02")

        let pings = PingParser.parse(try String(contentsOfFile: lab.sandbox.directory + "/ping.log", encoding: .utf8), nominalIntervalMs: 10, stoppedAtNs: stoppedAt)
        #expect(pings.sent > 50)
        #expect(pings.lost == 0, "lost icmp_seq \(pings.lostSequences)")

        let tableA = try ControlClient.call(RunFolder(lab: lab.part("a")).switchSocket("pswitch"), SwitchCall.macTable)
        let tableB = try ControlClient.call(RunFolder(lab: lab.part("b")).switchSocket("pswitch"), SwitchCall.macTable)
        #expect(tableA.first { $0.mac == Self.webMAC }?.portName == "vx-b")
        #expect(tableB.first { $0.mac == Self.webMAC }?.portName == "esx02")

        let after = UDPProbeReport.parse(try lab.exec("a", "client01", [RootEnvironment.binary, "udp-probe", "10.10.0.10", "--count", "2", "--interval", "10"]))
        #expect(after.before == counterBefore + 1, "the counter continues from its value before the migration")
        #expect(try ControlClient.call(RunFolder(lab: lab.part("a")).hostSocket("esx01"), HostCall.listVMs()).isEmpty, "the source dropped its copy")

        // Back, still coordinated from machine a (the source now on the other machine: its preflight
        // probes run there), in the text report's format.
        let back = try lab.run(["migrate", "web01", "--to", "esx01", "--downtime", "5"], on: "a")
        #expect(back.contains("carries 9000-byte frames with DF set"), "the MTU probe ran on the source, on machine b: \(back)")
        #expect(back.contains("machine a, switch pswitch: relearned the MAC on esx01"), "\(back)")
        #expect(back.contains("machine b, switch pswitch: relearned the MAC on vx-a"), "\(back)")
        let list = try ControlClient.call(RunFolder(lab: lab.part("a")).hostSocket("esx01"), HostCall.listVMs())
        #expect(list.map(\.name) == ["web01"])
        #expect(VXLANNetworks.ping(in: lab.namespace("a", "client01"), "10.10.0.10"))
        // And across again, coordinated from machine b (the source on the other machine, the destination here).
        let third = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(
            try lab.run(["migrate", "web01", "--to", "esx02", "--downtime", "5", "--json"], on: "b").utf8))
        #expect(third.runsOn == "esx02" && third.switchRelearns.allSatisfy { $0.relearnMs != nil }, "\(third.outcome) \(third.switchRelearns)")
    }

    @Test("the underlay cut mid-migration: the VM ends on exactly one host, and answers once it is back")
    func underlayCut() throws {
        try RootEnvironment.require()
        let lab = try MachinesLab(memory: 256, touched: 192, dirtyRate: 32)
        defer { lab.tearDown() }
        let migration = try lab.sandbox.spawn([RootEnvironment.binary, "migrate", "web01", "--to", "esx02", "--json", "--max-seconds", "30",
                                               "--lab", lab.name, "--machine", "a"], log: "migrate")
        let esx01 = RunFolder(lab: lab.part("a")).hostSocket("esx01")
        let esx02 = RunFolder(lab: lab.part("b")).hostSocket("esx02")
        let migrating = lab.sandbox.waitUntil(seconds: 15) {
            (try? ControlClient.call(esx01, HostCall.vmStats("web01")))?.statistics.state == .migratingOut
        }
        #expect(migrating, "the migration started: \(lab.sandbox.logText("migrate"))")
        usleep(150_000)
        try CommandRunner.run(["ip", "-n", lab.underlay.a, "link", "set", VXLANNetworks.underlayLink, "down"])
        #expect(migration.wait(seconds: 90) != nil, "the coordinator ends: \(lab.sandbox.logText("migrate"))")
        // The cut came during pre-copy: the migration failed (after its stall timeout) and said where the VM runs.
        let log = lab.sandbox.logText("migrate")
        let json = String(log[(log.firstIndex(of: "{") ?? log.startIndex)...])
        let report = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(json.utf8))
        #expect(report.result.status.rawValue != "completed" && report.runsOn == "esx01", "\(report.outcome); runs on \(report.runsOn ?? "nil"); \(json)")
        let onA = (try ControlClient.call(esx01, HostCall.listVMs())).filter { $0.name == "web01" }
        let onB = (try ControlClient.call(esx02, HostCall.listVMs())).filter { $0.name == "web01" }
        #expect(onA.count + onB.count == 1, "exactly one host holds web01: a \(onA.map(\.statistics.state)), b \(onB.map(\.statistics.state)); \(lab.sandbox.logText("migrate"))")
        #expect((onA + onB).first?.statistics.state == .running)
        try CommandRunner.run(["ip", "-n", lab.underlay.a, "link", "set", VXLANNetworks.underlayLink, "up"])
        #expect(lab.sandbox.waitUntil(seconds: 15) { VXLANNetworks.ping(in: lab.namespace("a", "client01"), "10.10.0.10", count: 1) },
                "client01 reaches web01 wherever it runs once the underlay is back")
    }

    @Test("bad machines are refused with what to fix, before anything changes")
    func refusals() throws {
        try RootEnvironment.require()
        let lab = try MachinesLab()
        defer { lab.tearDown() }
        // A remote control socket that does not answer: refused before the migration starts.
        let missing = lab.sandbox.directory + "/nobody.sock"
        do {
            _ = try lab.run(["migrate", "web01", "--to", "esx02", "--remote", "b=\(missing)"], on: "a")
            Issue.record("a migration with an unreachable machine b was accepted")
        } catch let error as CommandError {
            #expect(error.standardError.contains("machine b: its control socket \(missing) does not answer"), "\(error.standardError)")
        }
        #expect(try ControlClient.call(RunFolder(lab: lab.part("a")).hostSocket("esx01"), HostCall.listVMs()).map(\.statistics.state) == [.running])
        // The same machine twice, and a machine the topology does not have.
        for (machine, message) in [("b", "is already up"), ("c", "no machine \"c\" in topology \(lab.name); its machines are a, b")] {
            do {
                _ = try lab.up(machine)
                Issue.record("lab up --machine \(machine) was accepted")
            } catch let error as CommandError {
                #expect(error.standardError.contains(message), "\(error.standardError)")
            }
        }
        #expect(NetworkNamespace.list(prefix: "\(lab.name)-c-").isEmpty)
    }

    @Test("a segment MTU the underlay cannot carry: lowered and said so, or refused with --strict-mtu before anything exists")
    func underlayMTU() throws {
        try RootEnvironment.require()
        let lab = try MachinesLab(machines: [], underlayMTU: 1550)
        defer { lab.tearDown() }
        do {
            _ = try lab.up("a", ["--strict-mtu"])
            Issue.record("--strict-mtu accepted a 9000-byte segment over a 1550-byte underlay")
        } catch let error as CommandError {
            #expect(error.standardError.contains("segment vmotion: MTU 9000 does not fit the underlay (u0 MTU 1550; VXLAN needs 9050); raise the underlay's MTU to 9050"),
                    "\(error.standardError)")
        }
        #expect(NetworkNamespace.list(prefix: "\(lab.part("a"))-").isEmpty, "nothing was created")
        let output = try lab.up("a")
        #expect(output.contains("WARNING segment vmotion: MTU 9000 does not fit the underlay (u0 MTU 1550; VXLAN needs 9050): lowered to 1500"), "\(output)")
        let ports = try ControlClient.call(RunFolder(lab: lab.part("a")).switchSocket("vmotion"), SwitchCall.ports)
        #expect(!ports.ports.isEmpty && ports.ports.allSatisfy { $0.mtu == 1500 }, "\(ports.ports.map(\.mtu))")
        let mtu = try lab.exec("a", "esx01", ["cat", "/sys/class/net/vmk1/mtu"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(mtu == "1500", "vmk1 runs at the lowered MTU")
    }
}
