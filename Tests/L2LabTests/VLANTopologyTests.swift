import Foundation
import L2Control
import L2Guest
import L2Wire
import Testing
@testable import L2Lab

@Suite("Topology: VLANs, port security and switch timers, and the daemons' arguments they become")
struct VLANTopologyTests {
    @Test func theDefaultLabsArgumentsAreUnchanged() {
        let topology = DefaultTopology.topology()
        #expect(DaemonArguments.ports(of: "pswitch", in: topology) == [
            "name=client01,netns=l2m-client01,ifname=eth0,mtu=1500,addr=10.10.0.100/24,addr6=fd00:10:10::100/64,desc=eth0 of client client01",
            "name=esx01,netns=l2m-esx01,ifname=vmnic0,mtu=1500,desc=vmnic0 of host esx01",
            "name=esx02,netns=l2m-esx02,ifname=vmnic0,mtu=1500,desc=vmnic0 of host esx02",
        ])
        #expect(DaemonArguments.ports(of: "vmotion", in: topology) == [
            "name=esx01,netns=l2m-esx01,ifname=vmk1,mtu=9000,addr=192.168.100.11/24,desc=vmk1 of host esx01",
            "name=esx02,netns=l2m-esx02,ifname=vmk1,mtu=9000,addr=192.168.100.12/24,desc=vmk1 of host esx02",
        ])
        #expect(topology.switches.allSatisfy { DaemonArguments.switchOptions($0).isEmpty })
        #expect(topology.hosts.map { DaemonArguments.portGroups(of: $0) } == [["Production"], ["Production"]])
    }

    @Test func theVLANExampleHasATrunkPerHostAndAnAccessClient() throws {
        let topology = try TopologyExamples.topology(named: "vlan")
        #expect(topology.clients[0].vlan == 10)
        #expect(topology.hosts.map(\.uplinkVLANs) == [[10], [10]])
        #expect(topology.hosts.map(\.portGroups) == [[PortGroupNode(label: "Production", vlan: 10)], [PortGroupNode(label: "Production", vlan: 10)]])
        #expect(DaemonArguments.ports(of: "pswitch", in: topology) == [
            "name=client01,netns=l2m-client01,ifname=eth0,mtu=1500,addr=10.10.0.100/24,addr6=fd00:10:10::100/64,vlan=10,desc=eth0 of client client01",
            "name=esx01,netns=l2m-esx01,ifname=vmnic0,mtu=1500,trunk=10,desc=vmnic0 of host esx01",
            "name=esx02,netns=l2m-esx02,ifname=vmnic0,mtu=1500,trunk=10,desc=vmnic0 of host esx02",
        ])
        #expect(topology.hosts.map { DaemonArguments.portGroups(of: $0) } == [["Production,vlan=10"], ["Production,vlan=10"]])
        #expect(try PortGroupSpec.parse(DaemonArguments.portGroups(of: topology.hosts[0])[0]) == PortGroup(label: "Production", vlanID: 10))
        #expect(topology.vlan(of: topology.vms[0]) == 10)
        // Everything else is the default lab.
        var plain = topology
        plain.clients[0].vlan = nil
        for index in plain.hosts.indices {
            plain.hosts[index].uplinkVLANs = nil
            plain.hosts[index].portGroups = ["Production"]
        }
        #expect(plain == DefaultTopology.topology())
    }

    @Test func everyNewKeyBecomesItsArgument() throws {
        let yaml = try edited([
            ("    snaplen: 128\n", "    snaplen: 128\n    move-holddown: 3\n    aging: 1.5\n"),
            ("    address: 10.10.0.100/24\n", "    address: 10.10.0.100/24\n    vlan: 10\n    port_security: {max_macs: 2, sticky: true, violation: shut}\n"),
            ("    vmk_address: 192.168.100.12/24\n", "    vmk_address: 192.168.100.12/24\n    uplink_vlans: [10, 20]\n    vmk_port_mtu: 1500\n"),
            ("    port_groups: [Production]\n    datastores: [ds01]\nvms:", "    port_groups:\n      - {label: Production, vlan: 10, forged_transmits: reject}\n      - {label: Test, vlan: 20}\n    datastores: [ds01]\nvms:"),
            ("    port_groups: [Production]\n    datastores: [ds01]\n  - name: esx02", "    port_groups: [Production, {label: Lab, forged_transmits: reject}]\n    datastores: [ds01]\n  - name: esx02"),
        ])
        let topology = try TopologyLoader.parse(yaml: yaml, source: "test.yaml")
        #expect(DaemonArguments.switchOptions(topology.switches[1]) == ["--move-holddown", "3", "--aging", "1.5"])
        #expect(DaemonArguments.switchOptions(topology.switches[0]).isEmpty)
        #expect(DaemonArguments.ports(of: "pswitch", in: topology) == [
            "name=client01,netns=lab1-client01,ifname=eth0,mtu=1500,addr=10.10.0.100/24,addr6=fd00:10:10::100/64,vlan=10,max-macs=2,sticky=yes,violation=shut,desc=eth0 of client client01",
            "name=esx01,netns=lab1-esx01,ifname=vmnic0,mtu=1500,desc=vmnic0 of host esx01",
            "name=esx02,netns=lab1-esx02,ifname=vmnic0,mtu=1500,trunk=10:20,desc=vmnic0 of host esx02",
        ])
        #expect(DaemonArguments.ports(of: "vmotion", in: topology)[1]
                == "name=esx02,netns=lab1-esx02,ifname=vmk1,mtu=9000,addr=192.168.100.12/24,port-mtu=1500,desc=vmk1 of host esx02")
        #expect(DaemonArguments.portGroups(of: topology.hosts[0]) == ["Production", "Lab,forged-transmits=reject"])
        #expect(DaemonArguments.portGroups(of: topology.hosts[1]) == ["Production,vlan=10,forged-transmits=reject", "Test,vlan=20"])
        // The lab's state file keeps all of it: the topology goes through JSON and back unchanged.
        let back = try ControlJSON.decoder.decode(Topology.self, from: ControlJSON.encoder.encode(topology))
        #expect(back == topology)
        let json = String(decoding: try ControlJSON.encoder.encode(topology.hosts[0]), as: UTF8.self)
        #expect(json.contains(#""port_groups":["Production",{"forged_transmits":"reject","label":"Lab","vlan":0}]"#), "\(json)")
    }

    func refusal(_ edits: [(String, String)], path: String, file: String = baseYAML) throws -> String {
        try onlyProblem(edits, path: path, file: file)
    }

    @Test func rangesAreCheckedWithTheirPath() throws {
        #expect(try refusal([("    address: 10.10.0.100/24\n", "    address: 10.10.0.100/24\n    vlan: 4095\n")], path: "clients[0].vlan")
                == "vlan must be a whole number between 1 and 4094, not 4095")
        #expect(try refusal([("    port_groups: [Production]\n    datastores: [ds01]\nvms:", "    port_groups: [{label: Production, vlan: 5000}]\n    datastores: [ds01]\nvms:")],
                            path: "hosts[1].port_groups[0].vlan") == "vlan must be a whole number between 0 and 4094, not 5000")
        #expect(try refusal([("    vmk_address: 192.168.100.12/24\n", "    vmk_address: 192.168.100.12/24\n    vmk_port_mtu: 10000\n")],
                            path: "hosts[1].vmk_port_mtu") == "vmk_port_mtu must be a whole number of bytes between 68 and 9000, not 10000")
        #expect(try refusal([("    snaplen: 128\n", "    snaplen: 128\n    move-holddown: -1\n")], path: "switches[1].move-holddown")
                == "move-holddown must be a finite number of seconds between 0 and 3600, not -1")
        #expect(try refusal([("    snaplen: 128\n", "    snaplen: 128\n    aging: 0\n")], path: "switches[1].aging")
                == "aging must be a finite number of seconds between 1 and 1000000, not 0")
        #expect(try refusal([("    address: 10.10.0.100/24\n", "    address: 10.10.0.100/24\n    port_security: {max_macs: 0}\n")],
                            path: "clients[0].port_security.max_macs") == "max_macs must be a whole number of MACs between 1 and 4096, not 0")
        let badViolation = problems(try edited([("    address: 10.10.0.100/24\n", "    address: 10.10.0.100/24\n    port_security: {violation: shutdown}\n")]))
        #expect(badViolation.map(\.message) == [#"violation must be drop or shut, not "shutdown""#], "\(badViolation)")
        let badPolicy = problems(try edited([("    port_groups: [Production]\n    datastores: [ds01]\nvms:", "    port_groups: [{label: Production, forged_transmits: deny}]\n    datastores: [ds01]\nvms:")]))
        #expect(badPolicy.map(\.message) == [#"forged_transmits must be reject or accept, not "deny""#], "\(badPolicy)")
    }

    @Test func aTrunkMustCarryItsPortGroupsVLANs() throws {
        let vlanFile = VLANTopology.yaml
        #expect(try refusal([("    uplink_vlans: [10]     # vmnic0's switch port is a trunk carrying these VLANs, tagged\n", "    uplink_vlans: [20]\n")],
                            path: "hosts[0].port_groups[0].vlan", file: vlanFile)
                == "VLAN 10 of port group \"Production\" is not allowed on the trunk uplink_vlans [20]; add it there")
        let untaggedOnTrunk = try edited([("    uplink_vlans: [10]     # vmnic0's switch port is a trunk carrying these VLANs, tagged\n    port_groups:\n      - {label: Production, vlan: 10}\n",
                                           "    uplink_vlans: [10]\n    port_groups: [Production]\n")], file: vlanFile)
        let found = problems(untaggedOnTrunk)
        #expect(found.map(\.path) == ["hosts[0].port_groups[0].vlan"], "\(found)")
        #expect(found.first?.message.hasPrefix("port group \"Production\" is untagged, but the uplink is a trunk (uplink_vlans), where the switch drops untagged frames") == true)
        #expect(try refusal([("    uplink_vlans: [10]     # vmnic0's switch port is a trunk carrying these VLANs, tagged\n", "")],
                            path: "hosts[0].port_groups[0].vlan", file: vlanFile)
                == "port group \"Production\" is on VLAN 10 but esx01's uplink port on pswitch is not a trunk, and pswitch has VLAN ports; add uplink_vlans: [10]")
        #expect(try refusal([("    uplink_vlans: [10]     # vmnic0's switch port is a trunk carrying these VLANs, tagged\n", "    uplink_vlans: [10, 10]\n")],
                            path: "hosts[0].uplink_vlans", file: vlanFile) == "a VLAN is listed twice")
        #expect(try refusal([("    uplink_vlans: [10]     # vmnic0's switch port is a trunk carrying these VLANs, tagged\n", "    uplink_vlans: [10, 0]\n")],
                            path: "hosts[0].uplink_vlans", file: vlanFile) == "uplink_vlans must be a whole number between 1 and 4094, not 0")
    }

    @Test func aTaggedPortGroupOnAVLANUnawareSwitchIsFine() throws {
        // No port of pswitch is configured for VLANs: it passes the tags through, and the client may
        // use a VLAN subinterface. The client's subnet rule then looks at VMs of its own VLAN only.
        let yaml = try edited([("    port_groups: [Production]\n    datastores: [ds01]\n  - name: esx02", "    port_groups: [{label: Production, vlan: 10}]\n    datastores: [ds01]\n  - name: esx02"),
                               ("    port_groups: [Production]\n    datastores: [ds01]\nvms:", "    port_groups: [{label: Production, vlan: 10}]\n    datastores: [ds01]\nvms:"),
                               ("    ip: 10.10.0.10/24\n", "    ip: 10.20.0.10/24\n")])
        let topology = try TopologyLoader.parse(yaml: yaml, source: "test.yaml")
        #expect(topology.hosts.allSatisfy { $0.uplinkVLANs == nil })
        #expect(topology.vlan(of: topology.vms[0]) == 10)
    }

    @Test func portSecurityIsForClientsAndNestedKeysAreChecked() throws {
        let onHost = problems(try edited([("    vmk_address: 192.168.100.12/24\n", "    vmk_address: 192.168.100.12/24\n    port_security: {max_macs: 1}\n")]))
        #expect(onHost.map(\.path) == ["hosts[1].port_security"], "\(onHost)")
        let yaml = try edited([("    address: 10.10.0.100/24\n", "    address: 10.10.0.100/24\n    port_security: {max_mac: 1}\n"),
                               ("    port_groups: [Production]\n    datastores: [ds01]\nvms:", "    port_groups: [Production, {label: Test, vlna: 20}]\n    datastores: [ds01]\nvms:")])
        let found = problems(yaml)
        #expect(found.map(\.path) == ["clients[0].port_security.max_mac", "hosts[1].port_groups[1].vlna"], "\(found)")
        #expect(found.first?.message == "unknown field; it has max_macs, sticky, violation")
        #expect(found.last?.line == (try line(of: "vlna: 20", in: yaml)))
        let defaults = try TopologyLoader.parse(yaml: try edited([("    address: 10.10.0.100/24\n", "    address: 10.10.0.100/24\n    port_security: {}\n")]),
                                                source: "test.yaml")
        #expect(defaults.clients[0].portSecurity == PortSecurityNode(maxMACs: 1, sticky: false, violation: .drop))
        #expect(defaults.clients[0].portKeys == ["max-macs=1", "sticky=no", "violation=drop"])
    }
}

@Suite("Preflight: port group labels as vCenter matches them, VLAN ids compared")
struct VLANPreflightTests {
    let production0 = [PortGroup(label: "Production")]
    let production10 = [PortGroup(label: "Production", vlanID: 10)]
    let production20 = [PortGroup(label: "Production", vlanID: 20), PortGroup(label: "production", vlanID: 10)]

    @Test func sameVLANsPassQuietlyOrWithALine() throws {
        #expect(try MigrationCoordinator.vlanCheck(vm: "web01", label: "Production", source: ("esx01", production0),
                                                   destination: ("esx02", production0), strict: true) == nil)
        #expect(try MigrationCoordinator.vlanCheck(vm: "web01", label: "Production", source: ("esx01", production10),
                                                   destination: ("esx02", production10), strict: true)
                == "port group VLAN: \"Production\" is VLAN 10 on esx01 and esx02")
    }

    @Test func anotherVLANWarnsWhatWillHappen() throws {
        // "production" (VLAN 10) on esx02 is another label: labels match exactly, case included.
        let warning = try MigrationCoordinator.vlanCheck(vm: "web01", label: "Production", source: ("esx01", production10),
                                                         destination: ("esx02", production20), strict: false)
        #expect(warning == "WARNING VLAN mismatch: port group \"Production\" is VLAN 10 on esx01 but VLAN 20 on esx02; labels match, so vCenter would allow it, but web01 will be unreachable on VLAN 10 after the migration (its frames will go out on VLAN 20)")
        let untagged = try MigrationCoordinator.vlanCheck(vm: "web01", label: "Production", source: ("esx01", production10),
                                                          destination: ("esx02", production0), strict: false)
        #expect(untagged?.hasSuffix("web01 will be unreachable on VLAN 10 after the migration (its frames will go out untagged)") == true, "\(untagged ?? "")")
    }

    @Test func strictVLANRefuses() {
        #expect(throws: MigrationError.self) {
            try MigrationCoordinator.vlanCheck(vm: "web01", label: "Production", source: ("esx01", production0),
                                               destination: ("esx02", production20), strict: true)
        }
        do {
            _ = try MigrationCoordinator.vlanCheck(vm: "web01", label: "Production", source: ("esx01", production0),
                                                   destination: ("esx02", production20), strict: true)
        } catch {
            #expect(error.message == "port group \"Production\" is untagged (VLAN 0) on esx01 but VLAN 20 on esx02; --strict-vlan refuses: web01 would be unreachable on the untagged network after the migration (its frames would go out on VLAN 20). To migrate, make esx02's port group untagged, or leave out --strict-vlan")
        }
    }
}
