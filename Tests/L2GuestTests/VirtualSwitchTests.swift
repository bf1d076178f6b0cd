import Testing
import L2Wire
@testable import L2Guest

private let web01 = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10)
private let web02 = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x11)
private let test01 = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x12)
private let client = MACAddress(0x02, 0x00, 0x00, 0x00, 0x00, 0x64)

/// A minimal Ethernet frame from `source` to `destination` (plus a 2-byte offset so the slice is not zero-based).
private func frame(to destination: MACAddress, from source: MACAddress) -> ArraySlice<UInt8> {
    let bytes = [0xEE, 0xEE] + destination.bytes + source.bytes + [0x08, 0x00] + Array(repeating: 0, count: 46)
    return bytes[2...]
}

@Suite struct VirtualSwitchTests {
    func esx02() throws -> VirtualSwitch {
        var vswitch = try VirtualSwitch(hostName: "esx02", portGroups: [PortGroup(label: "Production"), PortGroup(label: "Test", vlanID: 20)])
        try vswitch.attach(vm: "web01", nic: web01, ip: IPv4Address(10, 10, 0, 10), to: "Production")
        try vswitch.attach(vm: "web02", nic: web02, ip: IPv4Address(10, 10, 0, 11), to: "Production")
        try vswitch.attach(vm: "test01", nic: test01, ip: IPv4Address(10, 20, 0, 10), to: "Test")
        return vswitch
    }

    @Test func portGroupLabelsMatchExactlyCaseIncluded() throws {
        var vswitch = try VirtualSwitch(hostName: "esx02", portGroups: [PortGroup(label: "Production")])
        #expect(throws: VirtualSwitchError.portGroupNotFound(label: "production", host: "esx02", existing: ["Production"])) {
            try vswitch.attach(vm: "web01", nic: web01, to: "production")
        }
        do {
            try vswitch.attach(vm: "web01", nic: web01, to: "production")
        } catch {
            #expect(error.description == #"port group "production" not found on esx02 (it has: "Production"); labels must match exactly, case included"#)
        }
        #expect(vswitch.ports.isEmpty)
        try vswitch.attach(vm: "web01", nic: web01, to: "Production")
        #expect(vswitch.port(for: web01)?.portGroup == "Production")
        #expect(throws: VirtualSwitchError.duplicatePortGroup(label: "Production", host: "esx02")) {
            try vswitch.addPortGroup(PortGroup(label: "Production"))
        }
        try vswitch.addPortGroup(PortGroup(label: "production")) // a different label
    }

    @Test func duplicateMACOrIPNamesTheOtherVM() throws {
        var vswitch = try esx02()
        do {
            try vswitch.attach(vm: "web03", nic: web01, ip: IPv4Address(10, 10, 0, 99), to: "Production")
            Issue.record("duplicate MAC accepted")
        } catch {
            #expect(error.description == #"MAC 00:50:56:00:00:10 of VM "web03" is already used by VM "web01" on esx02"#)
        }
        #expect(throws: VirtualSwitchError.ipInUse(ip: IPv4Address(10, 10, 0, 11), vm: "web03", usedBy: "web02", host: "esx02")) {
            try vswitch.attach(vm: "web03", nic: MACAddress(0x00, 0x50, 0x56, 0, 0, 0x99), ip: IPv4Address(10, 10, 0, 11), to: "Production")
        }
        #expect(vswitch.ports.count == 3)
    }

    @Test func uplinkDeliveryByDestination() throws {
        let vswitch = try esx02()
        #expect(vswitch.deliverFromUplink(frame(to: web02, from: client)) == VirtualSwitchDelivery(nics: [web02]))
        // An untagged broadcast stays in VLAN 0: test01's port group "Test" is VLAN 20 (VirtualSwitchVLANTests).
        #expect(vswitch.deliverFromUplink(frame(to: .broadcast, from: client)).nics == [web01, web02])
        #expect(vswitch.deliverFromUplink(frame(to: MACAddress(0x01, 0x00, 0x5E, 0, 0, 1), from: client)).nics.count == 2)
        #expect(vswitch.deliverFromUplink(frame(to: MACAddress(0x00, 0x50, 0x56, 0, 0, 0x77), from: client)) == .drop)
        #expect(vswitch.deliverFromUplink(frame(to: web01, from: client).prefix(13)) == .drop)
    }

    @Test func vmFramesGoOutOfTheUplinkOrStayLocal() throws {
        var vswitch = try esx02()
        #expect(vswitch.deliverFromVM(frame(to: client, from: web01), from: web01) == VirtualSwitchDelivery(uplink: true))
        #expect(vswitch.deliverFromVM(frame(to: web02, from: web01), from: web01) == VirtualSwitchDelivery(nics: [web02]))
        // test01 is in another port group: reached through the uplink, not locally.
        #expect(vswitch.deliverFromVM(frame(to: test01, from: web01), from: web01) == VirtualSwitchDelivery(uplink: true))
        #expect(vswitch.deliverFromVM(frame(to: .broadcast, from: web01), from: web01) == VirtualSwitchDelivery(nics: [web02], uplink: true))
        #expect(vswitch.deliverFromVM(frame(to: .broadcast, from: test01), from: test01) == VirtualSwitchDelivery(uplink: true, vlan: 20))
        try vswitch.detach(nic: web02)
        #expect(vswitch.deliverFromVM(frame(to: client, from: web02), from: web02) == .drop)
        #expect(throws: VirtualSwitchError.nicNotAttached(mac: web02, host: "esx02")) { try vswitch.detach(nic: web02) }
    }
}

@Suite struct HostInventoryTests {
    func config(_ name: String, mac: UInt8, ip: UInt8, memoryMiB: Int = 1024, portGroup: String = "Production") -> VMConfiguration {
        VMConfiguration(name: name, mac: MACAddress(0x00, 0x50, 0x56, 0, 0, mac), ip: IPv4Interface(address: IPv4Address(10, 10, 0, ip), prefixLength: 24),
                        memoryMiB: memoryMiB, portGroup: portGroup, workload: .idle, disk: "\(name).img")
    }

    @Test func admitsWhatFitsAndRefusesTheRestNamingWhatExists() throws {
        var host = try HostInventory(hostName: "esx01", memoryLimitMiB: 3072, portGroups: [PortGroup(label: "Production")])
        try host.register(config("web01", mac: 0x10, ip: 10))
        try host.register(config("web02", mac: 0x11, ip: 11))
        #expect(host.freeMemoryMiB == 1024)

        do {
            try host.check(config("db01", mac: 0x20, ip: 20, memoryMiB: 2048))
            Issue.record("accepted a VM beyond the memory limit")
        } catch {
            #expect(error.description == #"VM "db01" needs 2048 MiB but esx01 has 1024 MiB free of 3072 MiB (in use: web01 1024 MiB, web02 1024 MiB)"#)
        }
        #expect(throws: HostInventoryError.network(.macInUse(mac: MACAddress(0x00, 0x50, 0x56, 0, 0, 0x10), vm: "app01", usedBy: "web01", host: "esx01"))) {
            try host.register(config("app01", mac: 0x10, ip: 30, memoryMiB: 512))
        }
        #expect(throws: HostInventoryError.network(.ipInUse(ip: IPv4Address(10, 10, 0, 11), vm: "app01", usedBy: "web02", host: "esx01"))) {
            try host.register(config("app01", mac: 0x30, ip: 11, memoryMiB: 512))
        }
        #expect(throws: HostInventoryError.network(.portGroupNotFound(label: "production", host: "esx01", existing: ["Production"]))) {
            try host.register(config("app01", mac: 0x30, ip: 30, memoryMiB: 512, portGroup: "production"))
        }
        #expect(throws: HostInventoryError.nameInUse(vm: "web01", host: "esx01")) {
            try host.register(config("web01", mac: 0x30, ip: 30, memoryMiB: 512))
        }
        var invalid = config("app01", mac: 0x30, ip: 30)
        invalid.memoryMiB = -1
        #expect(throws: HostInventoryError.invalidConfiguration(VMConfigurationError([.init(field: "memoryMiB", message: "must be positive, not -1")]))) {
            try host.register(invalid)
        }
        // Nothing was half-created by the refusals.
        #expect(host.vms.map(\.name) == ["web01", "web02"])
        #expect(host.virtualSwitch.ports.map(\.vmName) == ["web01", "web02"])

        try host.unregister(vm: "web01")
        #expect(host.freeMemoryMiB == 2048)
        try host.register(config("db01", mac: 0x10, ip: 10, memoryMiB: 2048))
        #expect(throws: HostInventoryError.vmNotFound(vm: "web09", host: "esx01", existing: ["web02", "db01"])) {
            try host.unregister(vm: "web09")
        }
    }
}
