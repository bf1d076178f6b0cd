import Foundation
import L2Control
import L2Wire
import Testing
@testable import L2Lab

/// A lab across machines, pure: where each node runs, each machine's part with its VXLAN ports in a
/// star around the first machine, the underlay MTU rule, and the refusals with their lines.
@Suite("Topology: a lab across machines")
struct MachinesTopologyTests {
    static func example() throws -> Topology { try TopologyExamples.topology(named: "machines") }

    /// The example with a third machine c holding esx03 (so the star shows).
    static func threeMachines() throws -> Topology {
        var topology = try example()
        topology.machines.append(MachineNode(name: "c", underlay: IPv4Address(192, 0, 2, 3)))
        var third = topology.hosts[1]
        third.name = "esx03"
        third.machine = "c"
        third.vmkAddress = try #require(IPv4Interface("192.168.100.13/24"))
        topology.hosts.append(third)
        return topology
    }

    @Test func eachMachinesPartHasItsNodesAndATunnelPerSegment() throws {
        let topology = try Self.example()
        #expect(TopologyValidator.problems(in: topology).isEmpty)
        let a = topology.part(for: "a")
        #expect(a.name == "l2m-a")
        #expect(a.clients.map(\.name) == ["client01"])
        #expect(a.hosts.map(\.name) == ["esx01"])
        #expect(a.vms.map(\.name) == ["web01"])
        #expect(a.machines.isEmpty)
        let b = topology.part(for: "b")
        #expect(b.hosts.map(\.name) == ["esx02"] && b.clients.isEmpty && b.vms.isEmpty)
        // Each segment gets its own VNI and UDP port; the tunnel leads to the other machine's underlay.
        #expect(DaemonArguments.ports(of: "pswitch", in: a) == [
            "name=client01,netns=l2m-a-client01,ifname=eth0,mtu=1500,addr=10.10.0.100/24,addr6=fd00:10:10::100/64,desc=eth0 of client client01",
            "name=esx01,netns=l2m-a-esx01,ifname=vmnic0,mtu=1500,desc=vmnic0 of host esx01",
            "name=vx-b,vxlan=192.0.2.2,vni=5001,local=192.0.2.1,dstport=4789,mtu=1500,desc=VXLAN to machine b (vni 5001)",
        ])
        #expect(DaemonArguments.ports(of: "vmotion", in: b).last
            == "name=vx-a,vxlan=192.0.2.1,vni=5002,local=192.0.2.2,dstport=4790,mtu=9000,desc=VXLAN to machine a (vni 5002)")
        // Every argument is a port the switch accepts.
        for part in [a, b] {
            for segment in part.switches {
                let specs = try DaemonArguments.ports(of: segment.name, in: part).map { try PortSpec(parsing: $0) }
                try validatePorts(specs)
            }
        }
        // The whole topology round-trips through the lab's state file.
        #expect(try ControlJSON.decoder.decode(Topology.self, from: ControlJSON.encoder.encode(topology)) == topology)
    }

    @Test("three machines form a star around the first: no loop, the hub has a port per spoke")
    func star() throws {
        let topology = try Self.threeMachines()
        #expect(TopologyValidator.problems(in: topology).isEmpty)
        #expect(topology.tunnelPeers(ofSegment: "pswitch", on: "a") == ["b", "c"])
        #expect(topology.tunnelPeers(ofSegment: "pswitch", on: "b") == ["a"])
        #expect(topology.tunnelPeers(ofSegment: "pswitch", on: "c") == ["a"])
        #expect(topology.part(for: "a").switches[0].members.map(\.name) == ["vx-b", "vx-c"])
        // Where the VM's frames come from on each machine's switch, for esx02 → esx03.
        #expect(topology.portTowards(host: "esx02", onSegment: "pswitch", machine: "b") == "esx02")
        #expect(topology.portTowards(host: "esx03", onSegment: "pswitch", machine: "b") == "vx-a")
        #expect(topology.portTowards(host: "esx02", onSegment: "pswitch", machine: "a") == "vx-b")
        #expect(topology.portTowards(host: "esx03", onSegment: "pswitch", machine: "a") == "vx-c")
        // A segment only one machine uses has no tunnel.
        var single = topology
        single.switches.append(SwitchNode(name: "lonely"))
        single.clients.append(ClientNode(name: "client02", switch: "lonely", address: try #require(IPv4Interface("10.20.0.1/24"))))
        single.clients[1].machine = "b"
        #expect(single.machines(ofSegment: "lonely") == ["b"])
        #expect(single.part(for: "b").switches.first { $0.name == "lonely" }?.members.isEmpty == true)
        #expect(single.part(for: "a").switches.contains { $0.name == "lonely" } == false)
    }

    @Test("a VLAN segment's tunnels are trunks of every VLAN on it")
    func vlanTunnels() throws {
        var topology = try Self.example()
        topology.clients[0].vlan = 10
        topology.hosts[0].uplinkVLANs = [10, 20]
        topology.hosts[1].uplinkVLANs = [10]
        #expect(topology.part(for: "a").switches[0].members.last?.trunk == [10, 20])
    }

    @Test("the underlay must carry the segment's MTU plus VXLAN's 50 bytes, else lowered or refused")
    func underlayFit() {
        #expect(UnderlayFit(segment: "vmotion", mtu: 9000, underlayMTU: 9050, underlayInterface: "eth1", tagged: false, strict: false).verdict == .fits)
        let lowered = UnderlayFit(segment: "vmotion", mtu: 9000, underlayMTU: 1500, underlayInterface: "eth1", tagged: false, strict: false)
        #expect(lowered.verdict == .lowered(to: 1450))
        #expect(lowered.message.contains("give the underlay MTU 9050 to keep 9000"))
        #expect(UnderlayFit(segment: "p", mtu: 1500, underlayMTU: 1550, underlayInterface: "eth1", tagged: true, strict: false).verdict == .lowered(to: 1496))
        let refused = UnderlayFit(segment: "vmotion", mtu: 9000, underlayMTU: 1500, underlayInterface: "eth1", tagged: false, strict: true)
        #expect(refused.verdict == .refused)
        #expect(refused.message.contains("raise the underlay's MTU to 9050 or lower the segment's mtu to 1450"))
        #expect(UnderlayFit(segment: "p", mtu: 1500, underlayMTU: 600, underlayInterface: "eth1", tagged: false, strict: false).verdict == .refused)
    }

    @Test("each bad placement is refused at its own line with what to fix")
    func refusals() throws {
        let base = MachinesTopology.yaml
        let cases: [(String, String, String)] = [
            ("  - name: b\n    underlay: 192.0.2.2", "  - name: a\n    underlay: 192.0.2.2", "machine \"a\" is already machines[0]"),
            ("    underlay: 192.0.2.2", "    underlay: 192.0.2.1", "underlay address 192.0.2.1 is already machines[0]'s"),
            ("    control: /run/l2motion-remote/b.sock", "    control: /run/l2motion-remote/a.sock", "control socket /run/l2motion-remote/a.sock is already machines[0]'s"),
            ("    machine: b\n", "    machine: c\n", "no machine \"c\"; machines are a, b"),
            ("  - name: client01\n    machine: a\n", "  - name: client01\n", "client client01 needs a machine (one of a, b)"),
            ("    path: /srv/l2motion/ds01 ", "   ", "datastore ds01 is listed by hosts on machines a, b; give it the path"),
            ("    mtu: 9000\n", "    mtu: 9000\n    vni: 5001\n", "vni 5001 is already segment pswitch's"),
            ("    mtu: 9000\n", "    mtu: 9000\n    vxlan_port: 4789\n", "UDP port 4789 is already segment pswitch's"),
        ]
        for (old, new, message) in cases {
            #expect(base.components(separatedBy: old).count == 2, "the example has \(old) once")
            let edited = base.replacingOccurrences(of: old, with: new)
            do {
                _ = try TopologyLoader.parse(yaml: edited, source: "t.yaml")
                Issue.record("accepted: \(new)")
            } catch {
                #expect(error.problems.contains { $0.message.contains(message) && $0.line != nil }, "\(message) in \(error)")
            }
        }
        // Machines named but none listed.
        let text = DefaultTopology.yaml.replacingOccurrences(of: "  - name: esx01\n", with: "  - name: esx01\n    machine: a\n")
        do {
            _ = try TopologyLoader.parse(yaml: text, source: "t.yaml")
            Issue.record("a host placed on a machine of a topology without machines was accepted")
        } catch {
            #expect(error.problems.contains { $0.message.contains("placed on machine \"a\" but the topology lists no machines") })
        }
    }
}
