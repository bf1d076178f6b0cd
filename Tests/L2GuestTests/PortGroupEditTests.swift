import Testing
import L2Wire
@testable import L2Guest

/// Port groups added and removed on a host whose VMs keep running, as `esxcli network vswitch
/// standard portgroup add/remove` does: a port group in use cannot go.
@Suite struct PortGroupEditTests {
    func host() throws -> HostInventory {
        var host = try HostInventory(hostName: "esx02", memoryLimitMiB: 4096,
                                     portGroups: [PortGroup(label: "Production"), PortGroup(label: "Test")])
        for (name, mac, group) in [("web01", UInt8(0x10), "Production"), ("web02", 0x11, "Production")] {
            try host.register(VMConfiguration(name: name, mac: MACAddress(0x00, 0x50, 0x56, 0, 0, mac),
                                              ip: IPv4Interface(address: IPv4Address(10, 10, 0, mac), prefixLength: 24),
                                              memoryMiB: 512, portGroup: group, workload: .idle, disk: "\(name).img"))
        }
        return host
    }

    @Test func anUnusedPortGroupIsRemovedAndComesBack() throws {
        var host = try host()
        try host.removePortGroup(labelled: "Test")
        #expect(host.virtualSwitch.portGroups.map(\.label) == ["Production"])
        try host.addPortGroup(PortGroup(label: "Test"))
        #expect(host.virtualSwitch.portGroups.map(\.label) == ["Production", "Test"])
    }

    @Test func aPortGroupInUseIsRefusedNamingItsVMs() throws {
        var host = try host()
        do {
            try host.removePortGroup(labelled: "Production")
            Issue.record("removed a port group two VMs use")
        } catch {
            #expect(error == .network(.portGroupInUse(label: "Production", host: "esx02", vms: ["web01", "web02"])))
            #expect(error.description == #"port group "Production" on esx02 is in use by VMs "web01", "web02"; power them off or migrate them to another host first"#)
        }
        try host.unregister(vm: "web01")
        #expect(throws: HostInventoryError.network(.portGroupInUse(label: "Production", host: "esx02", vms: ["web02"]))) {
            try host.removePortGroup(labelled: "Production")
        }
        #expect(VirtualSwitchError.portGroupInUse(label: "Production", host: "esx02", vms: ["web02"]).description
                == #"port group "Production" on esx02 is in use by VM "web02"; power it off or migrate it to another host first"#)
        #expect(host.virtualSwitch.portGroups.map(\.label) == ["Production", "Test"], "a refusal changes nothing")
        try host.unregister(vm: "web02")
        try host.removePortGroup(labelled: "Production")
        #expect(host.virtualSwitch.portGroups.map(\.label) == ["Test"])
        // With the port group gone, a VM that needs it is refused by admission.
        #expect(throws: HostInventoryError.network(.portGroupNotFound(label: "Production", host: "esx02", existing: ["Test"]))) {
            try host.check(VMConfiguration(name: "web01", mac: MACAddress(0x00, 0x50, 0x56, 0, 0, 0x10),
                                           ip: IPv4Interface(address: IPv4Address(10, 10, 0, 10), prefixLength: 24),
                                           memoryMiB: 512, portGroup: "Production", workload: .idle, disk: "web01.img"))
        }
    }

    @Test func aMissingOrExistingLabelIsAClearError() throws {
        var host = try host()
        do {
            try host.removePortGroup(labelled: "production")
            Issue.record("removed a port group that does not exist")
        } catch {
            #expect(error.description == #"port group "production" not found on esx02 (it has: "Production", "Test"); labels must match exactly, case included"#)
        }
        #expect(throws: HostInventoryError.network(.duplicatePortGroup(label: "Test", host: "esx02"))) {
            try host.addPortGroup(PortGroup(label: "Test"))
        }
        #expect(throws: HostInventoryError.network(.invalidPortGroup(label: "", reason: "the label must not be empty"))) {
            try host.addPortGroup(PortGroup(label: ""))
        }
        #expect(host.virtualSwitch.portGroups.map(\.label) == ["Production", "Test"])
    }
}
