import Foundation
import L2Control
import L2Edge
import L2Lab
import L2Wire
import Testing

/// The hosts' virtual switches in VST mode on a real lab: port group "Production" on VLAN 10 on both
/// hosts, their uplinks on a pswitch that knows no VLANs (it passes tags through). client01's kernel
/// has no VLAN subinterfaces here, so the test speaks 802.1Q itself from client01's eth0
/// (`TaggedClient`). And "forged transmits: reject" on a real host.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct VLANHostIntegrationTests {
    static let webMAC = MACAddress("00:50:56:00:00:10")!
    static let webIP = IPv4Address("10.10.0.10")!
    static let clientMAC = MACAddress("02:00:00:0a:0a:c8")!
    static let clientIP = IPv4Address("10.10.0.200")!

    /// The default lab with Production on VLAN 10 on both hosts (no trunk: pswitch stays unaware).
    static func vlanLab(_ name: String) -> String {
        TestLab.yaml(name: name).replacingOccurrences(of: "port_groups: [Production]", with: "port_groups: [{label: Production, vlan: 10}]")
    }

    func refusal(_ lab: TestLab, _ arguments: [String]) throws -> String { try lab.refusal(arguments) }

    /// Pings web01 on VLAN 10 from the tagged client; returns the reply as it was on the wire.
    func taggedPing(_ client: TaggedClient, sequence: UInt16) throws -> [UInt8]? {
        try client.send(client.echoRequest(to: Self.webIP, at: Self.webMAC, vlan: 10, sequence: sequence))
        return try client.receive { frame in
            frame.source == Self.webMAC && frame.etherType == .ipv4
                && (try? IPv4Packet(frame.payload)).map { $0.protocol == .icmp && $0.destination == Self.clientIP } == true
        }
    }

    @Test("web01 on VLAN 10 answers ARP and ping only when tagged, tagged; its RARPs after a migration are tagged; --strict-vlan refuses another VLAN")
    func taggedUplink() throws {
        try RootEnvironment.require()
        let lab = try TestLab(yaml: Self.vlanLab)
        defer { lab.tearDown() }
        #expect(try lab.run(["host-info", "esx01"]).contains(#"port groups "Production" (VLAN 10)"#))
        let client = try TaggedClient(namespace: lab.namespace("client01"), interface: "eth0", mac: Self.clientMAC, ip: Self.clientIP)

        // An untagged ARP request first, then a tagged one: the reply to the second proves the first
        // was handled (same path, in order) and that web01 answered only the tagged one.
        try client.send(client.arpRequest(for: Self.webIP, vlan: nil))
        try client.send(client.arpRequest(for: Self.webIP, vlan: 10))
        let arpReply = try #require(try client.receive { $0.source == Self.webMAC && $0.etherType == .arp }, "no ARP reply from web01")
        let arp = try EthernetFrame(arpReply)
        #expect(arp.vlan?.vid == 10, "the reply went out tagged: \(arp)")
        #expect(arp.destination == Self.clientMAC)
        #expect(try lab.host("esx01", HostCall.vmStats("web01")).statistics.responder.arpReplies == 1,
                "the untagged request never reached web01 (VLAN 0 has no port group on esx01)")

        let echo = try #require(try taggedPing(client, sequence: 1), "no echo reply on VLAN 10")
        #expect(try EthernetFrame(echo).vlan?.vid == 10)

        // On pswitch, everything web01 sent carries VLAN 10.
        let untagged = try lab.tshark("pswitch", filter: "eth.src == 00:50:56:00:00:10 && !vlan", fields: ["frame.number"])
        #expect(untagged.isEmpty, "untagged frames from web01: \(untagged)")
        let tagged = try lab.tshark("pswitch", filter: "eth.src == 00:50:56:00:00:10 && vlan.id == 10", fields: ["frame.protocols"])
        #expect(tagged.contains { $0.contains("arp") } && tagged.contains { $0.contains("icmp") }, "\(tagged)")

        // esx02's Production on VLAN 20: the labels match, so vCenter would go on; --strict-vlan does not.
        _ = try lab.run(["host", "port-group", "remove", "--host", "esx02", "Production"])
        #expect(try lab.run(["host", "port-group", "add", "--host", "esx02", "Production", "--vlan", "20"])
            .contains(#"port groups: "Production" (VLAN 20)"#))
        let strict = try refusal(lab, ["migrate", "web01", "--to", "esx02", "--strict-vlan"])
        #expect(strict.contains(#"port group "Production" is VLAN 10 on esx01 but VLAN 20 on esx02; --strict-vlan refuses"#), "\(strict)")
        #expect(try lab.host("esx01", HostCall.listVMs()).map(\.name) == ["web01"], "nothing changed")
        #expect(try lab.host("esx02", HostCall.listVMs()).isEmpty)

        _ = try lab.run(["host", "port-group", "remove", "--host", "esx02", "Production"])
        _ = try lab.run(["host", "port-group", "add", "--host", "esx02", "Production", "--vlan", "10"])
        let report = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(
            try lab.run(["migrate", "web01", "--to", "esx02", "--downtime", "5", "--strict-vlan", "--json"]).utf8))
        #expect(report.runsOn == "esx02", "\(report.outcome)")
        #expect(report.preflight.contains(#"port group VLAN: "Production" is VLAN 10 on esx01 and esx02"#), "\(report.preflight)")
        // The report finds the tagged RARPs in the capture: the relearn is an announce's, not "not an announce".
        #expect(report.relearnByAnnounce == true && !report.announceFrames.isEmpty,
                "relearn frame \(report.relearnFrame.map(String.init) ?? "-"), announce frames \(report.announceFrames)")

        // The RARPs go out on the VM's VLAN: QEMU's 60 bytes plus the 4-byte tag.
        #expect(lab.sandbox.waitUntil(seconds: 5) {
            ((try? lab.tshark("pswitch", filter: "arp.opcode == 3", fields: ["frame.len"])) ?? []).count >= 5
        }, "five RARPs on pswitch")
        let rarps = try lab.tshark("pswitch", filter: "arp.opcode == 3", fields: ["vlan.id", "frame.len", "eth.src"])
        #expect(rarps.count == 5 && rarps.allSatisfy { $0 == "10\t64\t00:50:56:00:00:10" }, "\(rarps)")

        let after = try #require(try taggedPing(client, sequence: 2), "no echo reply on VLAN 10 from esx02")
        #expect(try EthernetFrame(after).vlan?.vid == 10)
    }

    @Test("forged transmits: reject drops a spoofed source at the VM's own host and counts it; accept lets it out")
    func forgedTransmits() throws {
        try RootEnvironment.require()
        let lab = try TestLab { name in
            // esx01 rejects forged transmits; esx02 (the default) accepts them.
            let text = TestLab.yaml(name: name)
            let first = text.range(of: "port_groups: [Production]")!
            return text.replacingCharacters(in: first, with: "port_groups: [{label: Production, forged_transmits: reject}]")
        }
        defer { lab.tearDown() }
        let sendAs = ["vm", "send-as", "web01", "--mac", "00:50:56:00:00:99", "--count", "3", "--interval-ms", "5"]

        #expect(try lab.run(sendAs).contains(#"web01 on esx01 sent 3 frames as 00:50:56:00:00:99 in port group "Production" (forged transmits reject): 3 dropped as forged transmits, 0 out of the uplink"#))
        #expect(try lab.host("esx01", HostCall.vmStats("web01")).statistics.forgedTransmitsDropped == 3)
        #expect(try lab.host("esx01", HostCall.hostInfo).forgedTransmitDrops == 3)
        #expect(try lab.run(["vm", "list", "--host", "esx01"]).contains("FORGED DROPS"))
        #expect(try lab.run(["host-info", "esx01"]).contains("forged transmits dropped 3"))
        #expect(try lab.sandbox.run(["lab", "status", "--name", lab.name]).contains(#""Production" (forged transmits reject)"#))
        // web01's own frames still pass.
        #expect(try lab.exec("client01", ["ping", "-c", "1", "-W", "1", "10.10.0.10"]).contains("1 received"))
        #expect(try lab.tshark("pswitch", filter: "eth.type == 0x88b5", fields: ["eth.src"]).isEmpty, "nothing spoofed reached pswitch")

        let report = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(
            try lab.run(["migrate", "web01", "--to", "esx02", "--downtime", "5", "--json"]).utf8))
        #expect(report.runsOn == "esx02", "\(report.outcome)")
        #expect(try lab.run(sendAs).contains("0 dropped as forged transmits, 3 out of the uplink"))
        #expect(try lab.tshark("pswitch", filter: "eth.type == 0x88b5", fields: ["eth.src"]) == Array(repeating: "00:50:56:00:00:99", count: 3))
        let table = try lab.switchCall("pswitch", SwitchCall.macTable)
        #expect(table.first { $0.mac == MACAddress("00:50:56:00:00:99")! }?.portName == "esx02", "pswitch learned the spoofed MAC where it came from")
        #expect(!(try lab.run(["vm", "list", "--host", "esx02"]).contains("FORGED DROPS")))
    }
}
