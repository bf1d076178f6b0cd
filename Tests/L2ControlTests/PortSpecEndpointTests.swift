import Foundation
import L2Control
import L2Wire
import Testing

/// The port kinds of issue 16: `attach=`, `qemu=`, `vxlan=` beside the TAP kind, their keys, their
/// round trip through the `key=value` form and JSON, and the refusals that say what to fix.
@Suite("PortSpec's endpoint kinds")
struct PortSpecEndpointTests {
    @Test func eachKindParsesAndPrintsBack() throws {
        let tap = try PortSpec(parsing: "name=p1,netns=ns,ifname=eth0")
        #expect(tap.endpoint == .tap && tap.description == "name=p1,netns=ns,ifname=eth0,mtu=1500")

        let attached = try PortSpec(parsing: "name=vm1,attach=vnet0")
        #expect(attached.endpoint == .attach && attached.interface == "vnet0" && attached.namespace.isEmpty)
        #expect(attached.description == "name=vm1,attach=vnet0,mtu=1500")
        #expect(attached.captureDescription == "attached vnet0 in the root namespace")
        let attachedInNamespace = try PortSpec(parsing: "name=c1,attach=veth1,netns=lab-c1,mtu=9000,vlan=10")
        #expect(attachedInNamespace.namespace == "lab-c1" && attachedInNamespace.switchMTU == 9000 && attachedInNamespace.vlanMode == .access(10))

        let qemu = try PortSpec(parsing: "name=q1,qemu=/run/l2motion/q1.sock")
        #expect(qemu.endpoint == .qemu(path: "/run/l2motion/q1.sock") && qemu.interface.isEmpty)
        #expect(qemu.captureDescription == "QEMU stream socket /run/l2motion/q1.sock")

        let tunnel = try PortSpec(parsing: "name=remote,vxlan=192.0.2.2,vni=100,local=192.0.2.1,underlay=u1,trunk=10:20")
        let expected = VXLANTunnelSpec(remote: IPv4Address(192, 0, 2, 2), vni: 100, local: IPv4Address(192, 0, 2, 1), port: 4789, underlay: "u1")
        #expect(tunnel.endpoint == .vxlan(expected))
        #expect(tunnel.description == "name=remote,vxlan=192.0.2.2,vni=100,local=192.0.2.1,underlay=u1,mtu=1500,trunk=10:20")
        #expect(try PortSpec(parsing: "name=r,vxlan=10.0.0.2,vni=7,dstport=8472").endpoint
                == .vxlan(VXLANTunnelSpec(remote: IPv4Address(10, 0, 0, 2), vni: 7, port: 8472)))

        for spec in [tap, attached, attachedInNamespace, qemu, tunnel] {
            #expect(try PortSpec(parsing: spec.description) == spec, "\(spec) reads back")
            let json = try JSONEncoder().encode(spec)
            #expect(try JSONDecoder().decode(PortSpec.self, from: json) == spec, "\(spec) survives JSON")
        }
    }

    @Test("bad input is refused with what to write instead")
    func refusals() {
        let cases: [(String, String)] = [
            ("name=p,attach=eth0,qemu=/tmp/q.sock", "exclude each other"),
            ("name=p,attach=eth0,ifname=eth1", "ifname= does not go here"),
            ("name=p,attach=eth0,addr=10.0.0.1/24", "keeps the addresses it has"),
            ("name=p,attach=an-interface-name-too-long", "at most 15"),
            ("name=p,qemu=/tmp/q.sock,netns=x", "netns= does not go here"),
            ("name=p,qemu=/" + String(repeating: "a", count: 120), "unix socket path"),
            ("name=p,vxlan=192.0.2.2", "needs vni=N"),
            ("name=p,vxlan=192.0.2.2,vni=0", "vni 0 is out of range"),
            ("name=p,vxlan=192.0.2.2,vni=16777216", "vni 16777216 is out of range"),
            ("name=p,vxlan=192.0.2.2,vni=ten", "is not a number"),
            ("name=p,vxlan=not-an-address,vni=5", "is not an IPv4 address"),
            ("name=p,vxlan=192.0.2.2,vni=5,dstport=70000", "is not a UDP port"),
            ("name=p,vxlan=192.0.2.2,vni=5,local=1.2.3", "local \"1.2.3\" is not an IPv4 address"),
            ("name=p,netns=ns,ifname=eth0,vni=5", "vni= goes with vxlan="),
            ("name=p,netns=ns", "missing ifname="),
        ]
        for (text, expected) in cases {
            #expect(throws: ConfigurationError.self, "\(text)") { try PortSpec(parsing: text) }
            do {
                _ = try PortSpec(parsing: text)
            } catch {
                #expect(error.message.contains(expected), "\(text): \(error.message)")
            }
        }
    }

    @Test("two ports of one switch may not share an interface, a socket path or a tunnel binding")
    func sharedPlaces() throws {
        let pairs: [(String, String, String)] = [
            ("name=a,attach=veth0,netns=x", "name=b,attach=veth0,netns=x", "interface veth0 in namespace x"),
            ("name=a,netns=x,ifname=veth0", "name=b,attach=veth0,netns=x", "interface veth0 in namespace x"),
            ("name=a,qemu=/tmp/q.sock", "name=b,qemu=/tmp/q.sock", "socket path /tmp/q.sock"),
            ("name=a,vxlan=192.0.2.2,vni=1", "name=b,vxlan=192.0.2.3,vni=2", "VXLAN binding"),
        ]
        for (first, second, place) in pairs {
            do {
                try validatePorts([try PortSpec(parsing: first), try PortSpec(parsing: second)])
                Issue.record("\(first) and \(second) were accepted together")
            } catch {
                #expect(error.message.contains(place) && error.message.contains("ports a and b"), "\(error.message)")
            }
        }
        // Tunnels on their own ports, or in different underlays, may share a switch.
        try validatePorts([try PortSpec(parsing: "name=a,vxlan=192.0.2.2,vni=1"), try PortSpec(parsing: "name=b,vxlan=192.0.2.3,vni=2,dstport=4790")])
        try validatePorts([try PortSpec(parsing: "name=a,vxlan=192.0.2.2,vni=1,underlay=u1"), try PortSpec(parsing: "name=b,vxlan=192.0.2.3,vni=2,underlay=u2")])
    }

    @Test("a switch status from before port kinds still decodes, and the endpoints come back")
    func statusCodable() throws {
        let old = #"{"name":"sw","pid":1,"capture":"c","frames_captured":2,"ports":[{"name":"p1","namespace":"ns","interface":"eth0","mtu":1500}]}"#
        let status = try JSONDecoder().decode(SwitchStatus.self, from: Data(old.utf8))
        #expect(status.ports.first?.endpoint == .tap && status.endpoints == nil)
        let state = PortEndpointState(port: "q1", kind: "qemu", state: "connected", counters: ["connections": 2, "disconnects": 1])
        #expect(state.summary == "q1 qemu connected (connections 2, disconnects 1)")
        let withEndpoints = SwitchStatus(name: "sw", pid: 1, capture: "c", framesCaptured: 0, ports: status.ports, endpoints: [state])
        #expect(try JSONDecoder().decode(SwitchStatus.self, from: JSONEncoder().encode(withEndpoints)).endpoints == [state])
    }
}
