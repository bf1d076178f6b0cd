import Foundation
import L2Control
import L2Wire
import Testing
@testable import L2Lab

/// External members of a segment (`switches[i].members`): an attached interface, a QEMU socket and a
/// VXLAN tunnel beside the lab's own ports; the arguments they become; refusals with line numbers.
@Suite("Topology: external members of a segment")
struct MemberTopologyTests {
    static let members = """
          - name: pswitch
            mtu: 1500
            members:
              - name: vm-q1
                qemu: /run/l2motion/lab1-q1.sock
              - name: ctr1
                attach: veth-ctr1
                netns: containers
                vlan: 10
              - name: remote
                vxlan: 192.0.2.2
                vni: 100
                local: 192.0.2.1
                underlay: lab1-underlay
                description: "the other machine's pswitch"

        """

    static func yaml(_ members: String = members) throws -> String {
        try edited([("  - name: pswitch\n    mtu: 1500\n", members)])
    }

    @Test func membersBecomePortsAfterTheLabsOwn() throws {
        let topology = try TopologyLoader.parse(yaml: try Self.yaml(), source: "test.yaml")
        #expect(topology.switches[0].members.map(\.name) == ["vm-q1", "ctr1", "remote"])
        let ports = DaemonArguments.ports(of: "pswitch", in: topology)
        #expect(ports.count == 6)
        #expect(Array(ports.suffix(3)) == [
            "name=vm-q1,qemu=/run/l2motion/lab1-q1.sock,mtu=1500,desc=external member vm-q1",
            "name=ctr1,attach=veth-ctr1,netns=containers,mtu=1500,vlan=10,desc=external member ctr1",
            "name=remote,vxlan=192.0.2.2,vni=100,local=192.0.2.1,underlay=lab1-underlay,mtu=1500,desc=the other machine's pswitch",
        ])
        // Each argument is a port the switch command accepts.
        let specs = try ports.map { try PortSpec(parsing: $0) }
        try validatePorts(specs)
        #expect(specs[3].endpoint == .qemu(path: "/run/l2motion/lab1-q1.sock"))
        #expect(specs[4].endpoint == .attach && specs[4].namespace == "containers" && specs[4].vlanMode == .access(10))
        #expect(specs[5].endpoint == .vxlan(VXLANTunnelSpec(remote: IPv4Address(192, 0, 2, 2), vni: 100, local: IPv4Address(192, 0, 2, 1), underlay: "lab1-underlay")))
        // Through the lab's state file and back unchanged.
        #expect(try ControlJSON.decoder.decode(Topology.self, from: ControlJSON.encoder.encode(topology)) == topology)
        // A lab without members passes exactly the ports it always did.
        #expect(DaemonArguments.ports(of: "pswitch", in: try TopologyLoader.parse(yaml: baseYAML, source: "t")).count == 3)
    }

    @Test("each bad member is refused at its own line with what to fix")
    func refusals() throws {
        let cases: [(String, String, String)] = [
            ("        qemu: /run/l2motion/lab1-q1.sock\n", "        qemu: /run/l2motion/lab1-q1.sock\n        attach: eth9\n",
             "attach and qemu exclude each other"),
            ("        vni: 100\n", "        vni: 0\n", "vni 0 is out of range; use 1...16777215"),
            ("        vni: 100\n", "", "a vxlan member needs vni"),
            ("        vxlan: 192.0.2.2\n", "        vxlan: 192.0.2\n", "192.0.2"),
            ("      - name: ctr1\n", "      - name: client01\n", "already a port of switch pswitch"),
            ("        attach: veth-ctr1\n", "        attach: a-name-far-too-long\n", "at most 15"),
            ("        netns: containers\n", "        netns: containers\n        mtu: 9000\n", "unknown field"),
            ("        attach: veth-ctr1\n        netns: containers\n", "        qemu: /run/l2motion/lab1-q1.sock\n",
             "socket path /run/l2motion/lab1-q1.sock is already used by switches[0].members[0]"),
        ]
        for (old, new, expected) in cases {
            let yaml = try edited([(old, new)], file: try Self.yaml())
            let found = problems(yaml)
            let problem = try #require(found.first, "\(new) was accepted")
            #expect(problem.message.contains(expected), "\(found)")
            #expect(problem.line != nil, "the problem has a line: \(problem)")
            if let line = problem.line {
                let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
                #expect(line >= 1 && line <= lines.count, "line \(line) is in the file")
                #expect(line >= (try Self.firstMemberLine(in: yaml)), "the line points into the members: \(problem)")
            }
        }
    }

    static func firstMemberLine(in yaml: String) throws -> Int { try line(of: "members:", in: yaml) }
}
