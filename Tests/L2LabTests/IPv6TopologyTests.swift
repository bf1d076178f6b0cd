import L2Wire
import Testing
@testable import L2Lab

@Suite("Topology: IPv6 of clients and VMs")
struct IPv6TopologyTests {
    @Test("without ipv6: the client's eth0 and the VM get the default ULA of their IPv4 address")
    func defaults() throws {
        let topology = try TopologyLoader.parse(yaml: baseYAML, source: "test.yaml")
        #expect(topology.clients[0].ipv6 == nil && topology.clients[0].ipv6Addresses == [IPv6Interface("fd00:10:10::100/64")!])
        #expect(topology.ports(of: "pswitch")[0].addresses6.map(\.description) == ["fd00:10:10::100/64"])
        #expect(topology.ports(of: "pswitch")[1].addresses6.isEmpty, "hosts have no address on the production segment")
        let configuration = LabLifecycle.vmConfiguration(topology.vms[0])
        #expect(configuration.ipv6 == nil)
        #expect(configuration.ipv6Interfaces.map(\.description) == ["fe80::250:56ff:fe00:10/64", "fd00:10:10::10/64"])
    }

    @Test("ipv6 lists are taken as given; [] leaves link-local only; several join with + in addr6=")
    func given() throws {
        let yaml = try edited([("    address: 10.10.0.100/24\n", "    address: 10.10.0.100/24\n    ipv6: [\"fd00:10:10::100/64\", \"2001:db8::100/64\"]\n"),
                               ("    workload: web", "    workload: web\n    ipv6: []")])
        let topology = try TopologyLoader.parse(yaml: yaml, source: "test.yaml")
        #expect(DaemonArguments.ports(of: "pswitch", in: topology)[0]
                == "name=client01,netns=lab1-client01,ifname=eth0,mtu=1500,addr=10.10.0.100/24,addr6=fd00:10:10::100/64+2001:db8::100/64,desc=eth0 of client client01")
        #expect(LabLifecycle.vmConfiguration(topology.vms[0]).ipv6Interfaces.map(\.description) == ["fe80::250:56ff:fe00:10/64"])
    }
}
