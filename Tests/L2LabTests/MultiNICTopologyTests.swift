import L2Wire
import Testing
@testable import L2Lab

@Suite("Topology: Multi-NIC vMotion (vmk2 on a second vMotion switch)")
struct MultiNICTopologyTests {
    @Test func theExampleParsesWithASecondVMotionSegment() throws {
        let topology = try TopologyExamples.topology(named: "multi-nic")
        #expect(topology.switches.map(\.name) == ["pswitch", "vmotion", "vmotion2"])
        #expect(topology.hosts.map(\.vmotion2) == ["vmotion2", "vmotion2"])
        #expect(topology.hosts.map(\.vmk2Address) == [IPv4Interface("192.168.101.11/24"), IPv4Interface("192.168.101.12/24")])
        #expect(topology.ports(of: "vmotion2") == [
            TopologyPort(node: "esx01", namespace: "l2m-esx01", interface: "vmk2", address: IPv4Interface("192.168.101.11/24"),
                         summary: "vmk2 of host esx01"),
            TopologyPort(node: "esx02", namespace: "l2m-esx02", interface: "vmk2", address: IPv4Interface("192.168.101.12/24"),
                         summary: "vmk2 of host esx02"),
        ])
        #expect(topology.ports(of: "vmotion").map(\.interface) == ["vmk1", "vmk1"])
        // Everything else is the default lab.
        var plain = topology
        plain.switches.removeLast()
        for index in plain.hosts.indices {
            plain.hosts[index].vmotion2 = nil
            plain.hosts[index].vmk2Address = nil
        }
        #expect(plain == DefaultTopology.topology())
    }

    @Test func examplesByName() throws {
        #expect(TopologyExamples.names == ["default", "multi-nic", "vlan", "machines"])
        #expect(try TopologyExamples.yaml(named: "default") == DefaultTopology.yaml)
        #expect(throws: TopologyError.self) { try TopologyExamples.yaml(named: "multinic") }
        do {
            _ = try TopologyExamples.yaml(named: "multinic")
        } catch {
            #expect(error.description.contains("no example topology \"multinic\"; the examples are default, multi-nic, vlan"))
        }
    }

    func refusal(_ edits: [(String, String)], path: String) throws -> String {
        try onlyProblem(edits, path: path, file: MultiNICTopology.yaml)
    }

    @Test func vmotion2AndItsAddressComeTogether() throws {
        #expect(try refusal([("    vmk2_address: 192.168.101.12/24\n", "")], path: "hosts[1].vmk2_address")
                == "vmotion2 needs vmk2_address (vmk2's address on the second vMotion segment)")
        #expect(try refusal([("    vmotion2: vmotion2\n    vmk2_address: 192.168.101.11/24\n", "    vmk2_address: 192.168.101.11/24\n")],
                            path: "hosts[0].vmotion2")
                == "vmk2_address needs vmotion2 (the switch of the second vMotion segment)")
    }

    @Test func theSecondSegmentIsASwitchAndSubnetOfItsOwn() throws {
        // (vmk2 then also sits on vmotion in another subnet than the vmk1s there: reported as well.)
        let onVMotion = problems(try edited([("vmotion2: vmotion2\n    vmk2_address: 192.168.101.11/24", "vmotion2: vmotion\n    vmk2_address: 192.168.101.11/24")],
                                            file: MultiNICTopology.yaml))
        #expect(onVMotion.contains { $0.path == "hosts[0].vmotion2" && $0.message.hasPrefix("the second vMotion segment must be a switch of its own") },
                "\(onVMotion)")
        #expect(try refusal([("vmotion2: vmotion2\n    vmk2_address: 192.168.101.11/24", "vmotion2: vmotion3\n    vmk2_address: 192.168.101.11/24")],
                            path: "hosts[0].vmotion2") == "no switch \"vmotion3\"; switches are pswitch, vmotion, vmotion2")
        let sameSubnet = try edited([("vmk2_address: 192.168.101.11/24", "vmk2_address: 192.168.100.21/24"),
                                     ("vmk2_address: 192.168.101.12/24", "vmk2_address: 192.168.100.22/24")], file: MultiNICTopology.yaml)
        let found = problems(sameSubnet)
        #expect(found.map(\.path) == ["hosts[0].vmk2_address", "hosts[1].vmk2_address"], "\(found)")
        #expect(found.first?.message.contains("is in the subnet of vmk_address 192.168.100.11/24") == true)
    }

    @Test func vmk2AddressesShareTheirSegmentsSubnetAndAreUnique() throws {
        #expect(try refusal([("vmk2_address: 192.168.101.12/24", "vmk2_address: 192.168.102.12/24")], path: "hosts[1].vmk2_address")
                == "192.168.102.12/24 is not in the same subnet as esx01's 192.168.101.11/24 on segment vmotion2")
        let duplicate = try edited([("vmk2_address: 192.168.101.12/24", "vmk2_address: 192.168.101.11/24")], file: MultiNICTopology.yaml)
        #expect(problems(duplicate).contains { $0.path == "hosts[1].vmk2_address" && $0.message == "address 192.168.101.11 is already used by hosts[0].vmk2_address" })
    }
}
