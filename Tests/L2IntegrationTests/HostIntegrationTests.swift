import Foundation
import L2Control
import L2Daemons
import L2Edge
import L2Guest
import L2Switch
import L2Wire
import Testing

/// Hosts and VMs for real: a lab with a production switch, client01, esx01 running web01 from a
/// datastore, esx02; the kernel's ping and UDP reach the VM's tiny network stack.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct HostIntegrationTests {
    static let webMAC = MACAddress("00:50:56:00:00:10")!

    @Test("the kernel's ping reaches web01; UDP counters increase; the capture shows ARP and the MAC on esx01's port")
    func pingUDPAndLearning() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }

        let ping = try lab.exec("client01", ["ping", "-c", "3", "-i", "0.05", "-W", "1", "10.10.0.10"])
        #expect(ping.contains("3 received"), "ping output: \(ping)")

        let probe = try lab.exec("client01", [RootEnvironment.binary, "udp-probe", "10.10.0.10", "--count", "5", "--interval", "20"])
        let counters = probe.split(separator: "\n").compactMap { line -> UInt64? in
            guard line.hasPrefix("reply") else { return nil }
            return line.split(separator: " ").first { $0.hasPrefix("counter=") }.flatMap { UInt64($0.dropFirst(8)) }
        }
        #expect(counters.count == 5, "probe output: \(probe)")
        #expect(counters == counters.sorted() && Set(counters).count == counters.count, "counters strictly increase: \(counters)")

        let summary = try lab.host("esx01", HostCall.vmStats("web01"))
        #expect(summary.statistics.udpCounter == counters.last, "the counter lives in guest memory")
        #expect(summary.statistics.responder.echoReplies >= 3)

        let table = try lab.switchCall("pswitch", SwitchCall.macTable)
        #expect(table.first { $0.mac == Self.webMAC }?.portName == "esx01")

        let arp = try lab.tshark("pswitch", filter: "arp.opcode == 2 && arp.src.proto_ipv4 == 10.10.0.10", fields: ["eth.src", "arp.dst.proto_ipv4"])
        #expect(arp.contains { $0.hasPrefix("00:50:56:00:00:10") && $0.hasSuffix("10.10.0.100") }, "web01's ARP reply to client01: \(arp)")
        let requests = try lab.tshark("pswitch", filter: "arp.opcode == 1 && arp.dst.proto_ipv4 == 10.10.0.10", fields: ["eth.dst"])
        #expect(requests.contains("ff:ff:ff:ff:ff:ff"), "client01's ARP request was flooded")
    }

    @Test("powering on with a wrong port group, an unmounted datastore or a duplicate is refused, naming what exists")
    func badPowerOn() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }
        let datastore = lab.state.datastoreRoot + "/ds01"
        var config = try VMConfiguration.parse(json: String(contentsOfFile: "\(datastore)/web01/web01.json", encoding: .utf8))
        config.name = "app01"
        config.mac = MACAddress("00:50:56:00:00:20")!
        config.ip = IPv4Interface("10.10.0.20/24")!
        config.disk = "app01.img"
        config.portGroup = "production"
        try Datastore(name: "ds01", path: datastore).create(config, diskMiB: 1)

        #expect(throws: ControlError.self) { _ = try lab.host("esx02", HostCall.powerOn("app01", datastore: "ds01")) }
        do {
            _ = try lab.host("esx02", HostCall.powerOn("app01", datastore: "ds01"))
        } catch let error as ControlError {
            #expect(error.message.contains("\"production\"") && error.message.contains("\"Production\""), "\(error.message)")
        }
        do {
            _ = try lab.host("esx02", HostCall.powerOn("app01", datastore: "nope"))
            Issue.record("an unmounted datastore was accepted")
        } catch let error as ControlError {
            #expect(error.message.contains("not mounted") && error.message.contains("ds01"), "\(error.message)")
        }
        do {
            _ = try lab.host("esx01", HostCall.powerOn("web01", datastore: "ds01"))
            Issue.record("a second web01 was accepted")
        } catch let error as ControlError {
            #expect(error.message.contains("web01"), "\(error.message)")
        }
        let list = try lab.host("esx02", HostCall.listVMs())
        #expect(list.isEmpty, "nothing was left half-created on esx02")
        let info = try lab.host("esx02", HostCall.hostInfo)
        #expect(info.memoryFreeMiB == info.memoryLimitMiB)
    }

    @Test("a malformed control request gets an error reply and the host keeps serving")
    func malformedControlRequest() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }
        let reply = try RawUnixSocket.exchange(path: lab.folder.hostSocket("esx01"), line: "not json")
        #expect(reply.contains("\"ok\":false") && reply.contains("malformed request"), "reply: \(reply)")
        let info = try lab.host("esx01", HostCall.hostInfo)
        #expect(info.vms == ["web01"])
        let attributes = try FileManager.default.attributesOfItem(atPath: lab.folder.hostSocket("esx01"))
        #expect((attributes[.posixPermissions] as? Int) == 0o600, "control sockets are root-only")
    }

    @Test("datastore-mark makes a probe file another host's datastore-probe sees, removes it, refuses other names; also through the machine relay")
    func datastoreMark() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }
        let folder = lab.state.datastoreRoot + "/ds01"
        let probe = ".l2motion-probe-\(UInt64.random(in: 1...UInt64.max))"
        _ = try lab.host("esx01", HostCall.datastoreMark("ds01", file: probe, remove: false))
        #expect(FileManager.default.fileExists(atPath: "\(folder)/\(probe)"), "the mark is in the datastore's folder")
        #expect(try lab.host("esx02", HostCall.datastoreProbe("ds01", file: probe)).present, "esx02 sees esx01's mark")
        _ = try lab.host("esx01", HostCall.datastoreMark("ds01", file: probe, remove: false))  // again: still there, no error
        _ = try lab.host("esx01", HostCall.datastoreMark("ds01", file: probe, remove: true))
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/\(probe)"))
        #expect(try !lab.host("esx02", HostCall.datastoreProbe("ds01", file: probe)).present)
        _ = try lab.host("esx01", HostCall.datastoreMark("ds01", file: probe, remove: true))  // absent is fine

        for file in ["web01/web01.json", "web01", ".l2motion-probe-x/../../web01", "../.l2motion-probe-1"] {
            for remove in [false, true] {
                let error = #expect(throws: ControlError.self) { try lab.host("esx01", HostCall.datastoreMark("ds01", file: file, remove: remove)) }
                #expect(error?.code == .invalidArgument, "\(file)")
                #expect(error?.message.hasPrefix("datastore mark \"\(file)\" refused") == true, "\(error?.message ?? "")")
            }
        }
        #expect(FileManager.default.fileExists(atPath: "\(folder)/web01/web01.json"), "the VM's files are untouched")
        let unmounted = #expect(throws: ControlError.self) { try lab.host("esx01", HostCall.datastoreMark("ds09", file: probe, remove: false)) }
        #expect(unmounted == ControlError(.notFound, "datastore ds09 is not mounted on esx01 (it mounts: ds01)"))

        // What a coordinator on another machine does: the same call through this machine's relay.
        _ = try lab.sandbox.l2motion(["machine-relay", "--lab", lab.name], log: "relay")
        #expect(lab.sandbox.waitUntil { FileManager.default.fileExists(atPath: lab.folder.machineSocket) }, "\(lab.sandbox.logText("relay"))")
        let route = ControlRoute(socket: lab.folder.machineSocket, relayTarget: ControlRoute.hostTarget("esx01"))
        _ = try ControlClient.call(route, HostCall.datastoreMark("ds01", file: probe, remove: false))
        #expect(FileManager.default.fileExists(atPath: "\(folder)/\(probe)"))
        _ = try ControlClient.call(route, HostCall.datastoreMark("ds01", file: probe, remove: true))
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/\(probe)"))
    }
}
