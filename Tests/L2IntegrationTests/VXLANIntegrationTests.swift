import Foundation
import L2Control
import L2Edge
import L2Switch
import L2Wire
import Testing

/// `vxlan=` ports through the real `l2motion switch`: interop with Linux's own vxlan device, two
/// switches joined by a tunnel, bad input refused before anything is made, and datagrams that are not
/// the tunnel's counted and dropped (see `VXLANNetworks` for the addresses).
@Suite("VXLAN ports (root)", .serialized, .enabled(if: RootEnvironment.shouldRun))
struct VXLANIntegrationTests {
    typealias Net = VXLANNetworks

    /// The interop setup: underlay a/b, a kernel vxlan device in b (overlay .2), an l2motion switch
    /// whose VXLAN port lives in a and whose TAP port leads to a client namespace (overlay .1).
    struct Interop {
        let underlay: Net.Underlay
        let client: String
        let socket: String

        init(_ sandbox: Sandbox, options: [String] = []) throws {
            underlay = try Net.Underlay(sandbox)
            try underlay.addKernelVXLAN()
            client = try sandbox.namespace("c")
            socket = try Net.startSwitch(sandbox, name: "sw", client: client, host: 1, remote: underlay.addressB,
                                         local: underlay.addressA, underlay: underlay.a, options: options)
        }

        func counters(_ port: String) throws -> PortCountersSnapshot {
            try #require(ControlClient.call(socket, SwitchCall.counters).first { $0.name == port })
        }
    }

    @Test("interop with a Linux vxlan device: ping both ways, its MAC learned on the VXLAN port")
    func kernelInteropPing() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let lab = try Interop(sandbox)
        #expect(Net.ping(in: lab.client, Net.overlayAddress(2)), "client → kernel vxlan: \(sandbox.logText("sw"))")
        #expect(Net.ping(in: lab.underlay.b, Net.overlayAddress(1)), "kernel vxlan → client")
        let table = try ControlClient.call(lab.socket, SwitchCall.macTable)
        let vxlanMAC = try Net.mac(of: "vx0", in: lab.underlay.b), clientMAC = try Net.mac(of: "eth0", in: lab.client)
        #expect(table.first { $0.mac == vxlanMAC }?.portName == "vx", "the vxlan device's MAC is on the VXLAN port: \(table)")
        #expect(table.first { $0.mac == clientMAC }?.portName == "c")
        let state = try Net.tunnelState(lab.socket)
        #expect(state.kind == "vxlan" && state.state == "up")
        #expect(state.counters == ["foreign": 0, "wrong_vni": 0, "malformed": 0], "nothing refused: \(state.counters)")
        let tunnel = try lab.counters("vx")
        #expect(tunnel.rxFrames >= 3 && tunnel.txFrames >= 3, "echo requests and replies crossed the tunnel: \(tunnel)")
    }

    /// A Linux vxlan device over a veth hands its TCP super-frames (its GSO) to the l2motion end
    /// whole, checksums partial, as it would to a NIC: the switch completes such checksums and carries
    /// a super-frame whole to a TAP with offloads, cut into wire frames for one without. The other way
    /// the TAP's super-frames (with offloads) are cut for the tunnel.
    @Test("TCP (iperf3) both ways with the kernel vxlan device, with offloads and without (--no-offloads)", arguments: [true, false])
    func kernelInteropTCP(offloads: Bool) throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let lab = try Interop(sandbox, options: offloads ? [] : ["--no-offloads"])
        #expect(Net.ping(in: lab.client, Net.overlayAddress(2), count: 1))
        for reverse in [false, true] {
            let run = try Net.iperf(sandbox, client: lab.client, server: lab.underlay.b, address: Net.overlayAddress(2), reverse: reverse)
            #expect((run.received ?? 0) > 10_000_000, "TCP \(reverse ? "kernel vxlan → client" : "client → kernel vxlan") moved data: \(run.output.suffix(600))")
        }
        let tunnel = try lab.counters("vx"), client = try lab.counters("c")
        #expect(tunnel.txDrops.total == 0 && tunnel.rxDrops.total == 0, "no frame lost at the tunnel: \(tunnel)")
        #expect(client.txDrops.total == 0 && client.rxDrops.total == 0, "no frame lost at the client's port: \(client)")
        #expect(try Net.tunnelState(lab.socket).counters.values.allSatisfy { $0 == 0 })
        // The kernel's super-frames came through the tunnel whole; with offloads the client's too.
        _ = try ControlClient.call(lab.socket, SwitchCall.captureFlush)
        let frames = try PcapReader.readAll(path: sandbox.directory + "/captures/sw.pcapng")
        let largest = { (port: String) in frames.filter { $0.interface == port }.map(\.originalLength).max() ?? 0 }
        #expect(largest("vx") > 1514, "a super-frame from the kernel vxlan device crossed (largest \(largest("vx")))")
        if offloads {
            #expect(largest("c") > 1514, "the client's super-frames crossed, cut for the tunnel (largest \(largest("c")))")
        } else {
            #expect(largest("c") <= 1514, "without offloads the client sends wire frames (largest \(largest("c")))")
        }
    }

    @Test("two l2motion switches joined by VXLAN ports carry a ping between their TAP ports")
    func twoSwitches() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let underlay = try Net.Underlay(sandbox)
        let left = try sandbox.namespace("c1"), right = try sandbox.namespace("c2")
        let leftSocket = try Net.startSwitch(sandbox, name: "sw1", client: left, host: 1, remote: underlay.addressB,
                                             local: underlay.addressA, underlay: underlay.a)
        let rightSocket = try Net.startSwitch(sandbox, name: "sw2", client: right, host: 2, remote: underlay.addressA,
                                              local: underlay.addressB, underlay: underlay.b)
        #expect(Net.ping(in: left, Net.overlayAddress(2)), "left → right: \(sandbox.logText("sw1")) \(sandbox.logText("sw2"))")
        #expect(Net.ping(in: right, Net.overlayAddress(1)), "right → left")
        let rightMAC = try Net.mac(of: "eth0", in: right), leftMAC = try Net.mac(of: "eth0", in: left)
        #expect(try ControlClient.call(leftSocket, SwitchCall.macTable).first { $0.mac == rightMAC }?.portName == "vx")
        #expect(try ControlClient.call(rightSocket, SwitchCall.macTable).first { $0.mac == leftMAC }?.portName == "vx")
    }

    @Test("bad tunnel input through the command is refused before anything is made, naming the fix", arguments: [
        ("vxlan=10.251.0.2,vni=16777216", "vni 16777216 is out of range; use 1...16777215"),
        ("vxlan=10.251.0.2,vni=0", "vni 0 is out of range; use 1...16777215"),
        ("vxlan=tunnel-peer,vni=5", "vxlan \"tunnel-peer\" is not an IPv4 address like 192.0.2.2"),
        ("vxlan=10.251.0.2,vni=5,underlay=NOSUCH", "underlay namespace NOSUCH does not exist"),
        ("vxlan=10.251.0.2,vni=5,local=10.251.0.9,underlay=UNDERLAY", "local=10.251.0.9 is not an address of namespace UNDERLAY"),
    ])
    func badTunnelRefused(keys: String, message: String) throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let client = try sandbox.namespace("x")
        let underlay = try sandbox.namespace("u")
        let missing = "\(sandbox.prefix)-nosuch"
        let port = keys.replacingOccurrences(of: "NOSUCH", with: missing).replacingOccurrences(of: "UNDERLAY", with: underlay)
        let expected = message.replacingOccurrences(of: "NOSUCH", with: missing).replacingOccurrences(of: "UNDERLAY", with: underlay)
        do {
            _ = try sandbox.run(["switch", "sw", "--lab", sandbox.prefix, "--capture-dir", sandbox.directory,
                                 "--port", "name=p1,netns=\(client),ifname=eth0", "--port", "name=vx,\(port)"])
            Issue.record("the switch accepted \(port)")
        } catch let error as CommandError {
            #expect(error.standardError.contains(expected), "message was: \(error.standardError)")
        }
        #expect(!NetworkNamespace.linkExists("eth0", in: client), "no TAP left in the client namespace")
        #expect(!NetworkNamespace.exists(missing), "no namespace made for the missing underlay")
        #expect(NetworkNamespace.list(prefix: sandbox.prefix).sorted() == [client, underlay].sorted())
    }

    @Test("a datagram from a foreign sender, with the wrong VNI or without the I flag is counted and dropped; forwarding goes on")
    func strayDatagramsCounted() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let lab = try Interop(sandbox)
        let underlay = lab.underlay
        #expect(Net.ping(in: lab.client, Net.overlayAddress(2), count: 1))
        // A third address in b: the foreign sender.
        let foreign = Net.underlayAddress(3)
        try CommandRunner.run(["ip", "-n", underlay.b, "addr", "add", "\(foreign)/24", "dev", Net.underlayLink])
        /// A broadcast frame from `source`, after a VXLAN header: the switch would learn `source` if it took it.
        func datagram(vni: UInt32 = Net.vni, flags: UInt8 = VXLANHeader.vniValidFlag, source: UInt8) -> [UInt8] {
            var header = VXLANHeader(vni: vni).bytes
            header[0] = flags
            return header + TestFrames.frame(to: TestFrames.broadcast, from: TestFrames.mac(source), tag: source)
        }
        try Net.sendDatagram(datagram(source: 0x71), in: underlay.b, from: foreign, to: underlay.addressA)
        try Net.sendDatagram(datagram(vni: Net.vni + 1, source: 0x72), in: underlay.b, from: underlay.addressB, to: underlay.addressA)
        try Net.sendDatagram(datagram(flags: 0, source: 0x73), in: underlay.b, from: underlay.addressB, to: underlay.addressA)
        try Net.sendDatagram(Array(datagram(source: 0x74).prefix(VXLANHeader.length + 13)), in: underlay.b,
                             from: underlay.addressB, to: underlay.addressA)
        // The one good datagram: from the remote end, the tunnel's VNI, the I flag. Its source is learned.
        try Net.sendDatagram(datagram(source: 0x75), in: underlay.b, from: underlay.addressB, to: underlay.addressA)
        let expected: [String: UInt64] = ["foreign": 1, "wrong_vni": 1, "malformed": 2]
        let counted = sandbox.waitUntil { (try? Net.tunnelState(lab.socket).counters) == expected }
        #expect(counted, "counted: \(String(describing: try? Net.tunnelState(lab.socket).counters))")
        let learned = sandbox.waitUntil {
            (try? ControlClient.call(lab.socket, SwitchCall.macTable))?.contains { $0.mac == MACAddress(bytes: TestFrames.mac(0x75), at: 0) } == true
        }
        #expect(learned, "the good datagram's frame was forwarded and its source learned")
        let table = try ControlClient.call(lab.socket, SwitchCall.macTable)
        for source: UInt8 in [0x71, 0x72, 0x73, 0x74] {
            #expect(!table.contains { $0.mac == MACAddress(bytes: TestFrames.mac(source), at: 0) }, "the frame from 02:…:\(source) was dropped")
        }
        #expect(Net.ping(in: lab.client, Net.overlayAddress(2)), "the switch keeps forwarding")
        #expect(Net.ping(in: underlay.b, Net.overlayAddress(1)))
    }
}
