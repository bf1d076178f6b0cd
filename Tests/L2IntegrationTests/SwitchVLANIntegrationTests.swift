import Foundation
import L2Control
import L2Edge
import L2Switch
import L2Wire
import Testing

/// A real VLAN-aware switch process with TAP ports in namespaces: access ports in VLANs 10 and 20
/// and a trunk carrying both; and a switch with a move hold-down.
///
/// The kernel here has no 802.1Q module, so the trunk's namespace cannot have VLAN interfaces: it
/// captures with tcpdump (libpcap puts the tag the kernel took off back into the capture) and sends
/// its tagged frame through a packet socket (python3).
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct SwitchVLANIntegrationTests {
    struct Lab {
        let sandbox: Sandbox
        let namespaces: [String]
        let captureDirectory: String
        let socket: String

        func mac(of index: Int) throws -> MACAddress {
            let text = try CommandRunner.run(["ip", "-n", namespaces[index], "-br", "link", "show", "eth0"])
            return try #require(MACAddress(String(text.split(separator: " ", omittingEmptySubsequences: true)[2])))
        }

        func ping(from index: Int, to address: String, count: Int = 2) -> Bool {
            CommandRunner.succeeds(["ip", "netns", "exec", namespaces[index], "ping", "-c", String(count), "-i", "0.05", "-W", "1", address])
        }

        func capture() throws -> [CapturedFrame] {
            _ = try ControlClient.call(socket, SwitchCall.captureFlush)
            return try PcapReader.readAll(path: "\(captureDirectory)/sw.pcapng")
        }
    }

    /// A switch `sw` with one port per entry of `ports` (namespace suffix, extra port keys), each
    /// namespace's eth0 at 10.98.0.<n>/24 unless its keys make it a trunk.
    static func startLab(_ sandbox: Sandbox, ports: [(String, String)], options: [String] = []) throws -> Lab {
        let namespaces = try ports.map { try sandbox.namespace($0.0) }
        let captureDirectory = sandbox.directory + "/captures"
        var arguments = ["switch", "sw", "--lab", sandbox.prefix, "--capture-dir", captureDirectory] + options
        for (index, (namespace, port)) in zip(namespaces, ports).enumerated() {
            let address = port.1.hasPrefix("trunk=") ? "" : ",addr=10.98.0.\(index + 1)/24"
            arguments += ["--port", "name=p\(index + 1),netns=\(namespace),ifname=eth0\(address),\(port.1)"]
        }
        _ = try sandbox.l2motion(arguments, log: "switch")
        let socket = "/run/l2motion/\(sandbox.prefix)/switch-sw.sock"
        try #require(sandbox.waitUntil { (try? ControlClient.call(socket, SwitchCall.status)) != nil },
                     "switch did not come up: \(sandbox.logText("switch"))")
        return Lab(sandbox: sandbox, namespaces: namespaces, captureDirectory: captureDirectory, socket: socket)
    }

    @Test("pings pass within a VLAN and not across; the trunk carries both VLANs tagged, both ways")
    func accessAndTrunk() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        // p1, p2 in VLAN 10; p3 in VLAN 20 (same subnet: only the VLAN keeps it apart); p4 the trunk.
        let lab = try Self.startLab(sandbox, ports: [("a", "vlan=10"), ("b", "vlan=10"), ("c", "vlan=20"), ("t", "trunk=10:20")])
        let trunkCapture = sandbox.directory + "/trunk.pcap"
        _ = try sandbox.spawn(["ip", "netns", "exec", lab.namespaces[3], "tcpdump", "-i", "eth0", "-nn", "-U", "-w", trunkCapture], log: "tcpdump")
        try #require(sandbox.waitUntil { sandbox.logText("tcpdump").contains("listening on") }, "tcpdump: \(sandbox.logText("tcpdump"))")

        #expect(lab.ping(from: 0, to: "10.98.0.2"), "a and b share VLAN 10")
        #expect(!lab.ping(from: 0, to: "10.98.0.3"), "c is in VLAN 20")
        #expect(!lab.ping(from: 2, to: "10.98.0.2"), "nor does c reach b")

        // From the trunk: a tagged ARP request in VLAN 10 for b; b's reply must come back tagged 10.
        let probeMAC = try #require(MACAddress("02:98:00:00:00:09"))
        let request = EthernetFrame.build(destination: .broadcast, source: probeMAC, vlan: VLANTag(vid: 10), etherType: .arp,
                                          payload: ARPPacket.request(senderMAC: probeMAC, senderIP: IPv4Address(10, 98, 0, 9),
                                                                     targetIP: IPv4Address(10, 98, 0, 2)).bytes)
        let hex = request.map { String(format: "%02x", $0) }.joined()
        let script = "import socket; s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('eth0', 0)); s.send(bytes.fromhex('\(hex)'))"
        try CommandRunner.run(["ip", "netns", "exec", lab.namespaces[3], "python3", "-c", script])

        let macA = try lab.mac(of: 0), macB = try lab.mac(of: 1), macC = try lab.mac(of: 2)
        func trunkFrames() -> [EthernetFrame] {
            ((try? PcapReader.readAll(path: trunkCapture)) ?? []).compactMap { try? EthernetFrame($0.bytes[...]) }
        }
        let replied = sandbox.waitUntil(seconds: 5) {
            trunkFrames().contains { $0.source == macB && $0.destination == probeMAC && $0.vlan?.vid == 10 && $0.etherType == .arp }
        }
        #expect(replied, "b's ARP reply reached the trunk tagged with VLAN 10")
        let frames = trunkFrames()
        #expect(frames.contains { $0.source == macA && $0.vlan?.vid == 10 && $0.etherType == .arp }, "a's ARP broadcast, tagged 10")
        #expect(frames.contains { $0.source == macC && $0.vlan?.vid == 20 && $0.etherType == .arp }, "c's ARP broadcast, tagged 20")
        #expect(!frames.contains { ($0.source == macA || $0.source == macB || $0.source == macC) && $0.vlan == nil },
                "nothing left the trunk untagged")

        // The switch's own capture keeps frames as they came in: the probe tagged on p4, and b saw it untagged (it answered).
        let captured = try lab.capture()
        #expect(captured.contains { $0.interface == "p4" && (try? EthernetFrame($0.bytes[...]))?.vlan?.vid == 10 })
        let ports = try ControlClient.call(lab.socket, SwitchCall.ports)
        #expect(ports.ports.map(\.modeDescription) == ["access 10", "access 10", "access 20", "trunk 10:20"])
        let vlans = Dictionary(uniqueKeysWithValues: ports.vlans.map { ($0.vlan, $0) })
        #expect((vlans[10]?.frames ?? 0) > 0 && (vlans[20]?.frames ?? 0) > 0)
        #expect(vlans[10]?.ports == ["p1", "p2", "p4"] && vlans[20]?.ports == ["p3", "p4"])
        let table = try ControlClient.call(lab.socket, SwitchCall.macTable)
        #expect(table.contains { $0.mac == probeMAC && $0.vlan == 10 && $0.portName == "p4" })
        #expect(table.contains { $0.mac == macC && $0.vlan == 20 && $0.portName == "p3" })
        let text = try sandbox.run(["switch-ports", "sw", "--lab", sandbox.prefix])
        #expect(text.contains("trunk 10:20") && text.contains("FLOODS"), "\(text)")
    }

    @Test("with --move-holddown 2 a move is ignored until the station was last seen on its port 2 s ago")
    func holdDown() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let lab = try Self.startLab(sandbox, ports: [("a", ""), ("b", ""), ("c", "")].map { ($0.0, "desc=host \($0.0)") },
                                    options: ["--move-holddown", "2"])
        #expect(lab.ping(from: 0, to: "10.98.0.2", count: 1))
        let macA = try lab.mac(of: 0)
        // a goes quiet; c takes its MAC and talks at once: the switch keeps the MAC on p1.
        try CommandRunner.run(["ip", "-n", lab.namespaces[0], "link", "set", "eth0", "down"])
        try CommandRunner.run(["ip", "-n", lab.namespaces[2], "link", "set", "eth0", "address", macA.description])
        _ = lab.ping(from: 2, to: "10.98.0.2", count: 1)
        let during = try ControlClient.call(lab.socket, SwitchCall.macTable).first { $0.mac == macA }
        #expect(during?.portName == "p1", "the move is ignored during the hold-down")
        // c keeps trying; once the hold-down has passed, its next frame moves the MAC and the ping works.
        #expect(sandbox.waitUntil(seconds: 15) { lab.ping(from: 2, to: "10.98.0.2", count: 1) })
        #expect(try ControlClient.call(lab.socket, SwitchCall.macTable).first { $0.mac == macA }?.portName == "p3")

        let events = try ControlClient.call(lab.socket, SwitchCall.events()).events.filter { $0.mac == macA }
        let ignored = try #require(events.first { $0.kind == .moveIgnored })
        let moved = try #require(events.first { $0.kind == .moved })
        #expect(ignored.oldPortName == "p1" && ignored.newPortName == "p3" && moved.oldPortName == "p1" && moved.newPortName == "p3")
        #expect(ignored.sequence < moved.sequence)
        // Measured from a's last frame on p1 (the capture has it): ignored within 2 s, moved after.
        let lastOnP1 = try #require(try lab.capture().last { $0.interface == "p1" && Array($0.bytes[6..<12]) == macA.bytes })
        #expect(ignored.timeNs - lastOnP1.wallNanoseconds < 2_000_000_000)
        #expect(moved.timeNs - lastOnP1.wallNanoseconds >= 2_000_000_000)
        let counters = try ControlClient.call(lab.socket, SwitchCall.counters)
        #expect((counters.first { $0.name == "p3" }?.movesIgnored ?? 0) >= 1)
        let json = try sandbox.run(["switch-events", "sw", "--lab", sandbox.prefix, "--json"])
        #expect(json.contains("\"move-ignored\""), "\(json)")
    }
}
