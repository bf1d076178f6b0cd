import Foundation
import Testing
import L2Wire
@testable import L2Guest

private let web01 = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10)
private let app01 = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x20)
private let app02 = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x21)
private let db01 = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x30)
private let client = MACAddress(0x02, 0x00, 0x00, 0x00, 0x00, 0x64)

/// An ARP-sized frame from `source` to `destination`, tagged with `vlan` unless nil, as a slice that
/// does not start at 0.
private func frame(to destination: MACAddress, from source: MACAddress, vlan: UInt16? = nil) -> ArraySlice<UInt8> {
    let bytes = EthernetFrame.build(destination: destination, source: source, vlan: vlan.map { VLANTag(vid: $0) },
                                    etherType: .arp, payload: [UInt8](repeating: 0xA5, count: 28))
    return ([0xEE, 0xEE] + bytes)[2...]
}

/// VST on a host's virtual switch: port groups "Production" (VLAN 0), "App" and "App-DMZ" (both
/// VLAN 10: one broadcast domain) and "DB" (VLAN 20, rejecting forged transmits).
@Suite struct VirtualSwitchVLANTests {
    func vswitch() throws -> VirtualSwitch {
        var vswitch = try VirtualSwitch(hostName: "esx01", portGroups: [
            PortGroup(label: "Production"), PortGroup(label: "App", vlanID: 10), PortGroup(label: "App-DMZ", vlanID: 10),
            PortGroup(label: "DB", vlanID: 20, forgedTransmits: .reject),
        ])
        try vswitch.attach(vm: "web01", nic: web01, to: "Production")
        try vswitch.attach(vm: "app01", nic: app01, to: "App")
        try vswitch.attach(vm: "app02", nic: app02, to: "App-DMZ")
        try vswitch.attach(vm: "db01", nic: db01, to: "DB")
        return vswitch
    }

    @Test func fromTheUplinkAFrameGoesToThePortGroupsOfItsVLAN() throws {
        let vswitch = try vswitch()
        #expect(vswitch.deliverFromUplink(frame(to: .broadcast, from: client)) == VirtualSwitchDelivery(nics: [web01]))
        #expect(vswitch.deliverFromUplink(frame(to: .broadcast, from: client, vlan: 10)) == VirtualSwitchDelivery(nics: [app01, app02], vlan: 10))
        #expect(vswitch.deliverFromUplink(frame(to: .broadcast, from: client, vlan: 20)) == VirtualSwitchDelivery(nics: [db01], vlan: 20))
        #expect(vswitch.deliverFromUplink(frame(to: app02, from: client, vlan: 10)) == VirtualSwitchDelivery(nics: [app02], vlan: 10))
        // A priority-tagged frame (VID 0) is untagged traffic.
        #expect(vswitch.deliverFromUplink(frame(to: web01, from: client, vlan: 0)) == VirtualSwitchDelivery(nics: [web01]))
        // The right MAC in the wrong VLAN, a VLAN nobody has, an untagged frame for a tagged NIC: dropped.
        #expect(vswitch.deliverFromUplink(frame(to: web01, from: client, vlan: 10)) == .drop)
        #expect(vswitch.deliverFromUplink(frame(to: .broadcast, from: client, vlan: 30)) == .drop)
        #expect(vswitch.deliverFromUplink(frame(to: app01, from: client)) == .drop)
        // An 802.1Q EtherType without a whole tag header.
        for length in 14..<18 { #expect(vswitch.deliverFromUplink(frame(to: app01, from: client, vlan: 10).prefix(length)) == .drop) }
    }

    @Test func theVMsGetTheFrameWithoutItsTag() {
        let tagged = frame(to: app01, from: client, vlan: 10)
        let untagged = frame(to: app01, from: client)
        #expect(VirtualSwitch.vmCopy(ofUplinkFrame: tagged) == Array(untagged.dropLast(4)), "the 4 tag bytes go; the rest is the same")
        #expect(VirtualSwitch.vmCopy(ofUplinkFrame: untagged) == Array(untagged))
    }

    @Test func fromAVMFramesLeaveTheUplinkTaggedWithItsPortGroupsVLAN() throws {
        var vswitch = try vswitch()
        let toClient = vswitch.deliverFromVM(frame(to: client, from: app01), from: app01)
        #expect(toClient == VirtualSwitchDelivery(uplink: true, vlan: 10))
        let sent = toClient.uplinkCopy(of: frame(to: client, from: app01))
        #expect(sent == VLANTagging.inserting(VLANTag(vid: 10), into: frame(to: client, from: app01)))
        #expect(try EthernetFrame(sent).vlan?.vid == 10)
        // VLAN 0 stays untagged, byte for byte.
        let untagged = vswitch.deliverFromVM(frame(to: client, from: web01), from: web01)
        #expect(untagged == VirtualSwitchDelivery(uplink: true))
        #expect(untagged.uplinkCopy(of: frame(to: client, from: web01)) == Array(frame(to: client, from: web01)))
    }

    @Test func theRARPOfAVLANVMIsTaggedAndTheDefaultOneIsQEMUs() throws {
        var vswitch = try vswitch()
        let rarp = Announce.rarpFrame(for: app01)
        let tagged = vswitch.deliverFromVM(rarp, from: app01)
        #expect(tagged.uplink && tagged.vlan == 10 && tagged.nics == [app02], "the VLAN's other NIC hears it too")
        let onWire = tagged.uplinkCopy(of: rarp[...])
        #expect(onWire.count == 64)
        #expect(Array(onWire[12..<16]) == [0x81, 0x00, 0x00, 0x0A])
        #expect(Array(onWire[0..<12]) + Array(onWire[16...]) == rarp)
        let plain = Announce.rarpFrame(for: web01)
        let untagged = vswitch.deliverFromVM(plain, from: web01)
        #expect(untagged.uplinkCopy(of: plain[...]) == plain)
        #expect(plain.count == 60)
    }

    @Test func broadcastDomainsArePerVLANOnTheHostToo() throws {
        var vswitch = try vswitch()
        // Two port groups of VLAN 10 are one broadcast domain; VLAN 0 and 20 do not hear it.
        #expect(vswitch.deliverFromVM(frame(to: .broadcast, from: app01), from: app01) == VirtualSwitchDelivery(nics: [app02], uplink: true, vlan: 10))
        #expect(vswitch.deliverFromVM(frame(to: app02, from: app01), from: app01) == VirtualSwitchDelivery(nics: [app02], vlan: 10))
        // Another VLAN on the same host is reached through the uplink (a router), never locally.
        #expect(vswitch.deliverFromVM(frame(to: db01, from: app01), from: app01) == VirtualSwitchDelivery(uplink: true, vlan: 10))
        #expect(vswitch.deliverFromVM(frame(to: .broadcast, from: web01), from: web01) == VirtualSwitchDelivery(uplink: true))
    }

    @Test func aGuestMayNotTagOnAPortGroupTheSwitchTags() throws {
        var vswitch = try vswitch()
        #expect(vswitch.deliverFromVM(frame(to: client, from: app01, vlan: 30), from: app01)
                == VirtualSwitchDelivery(vlan: 10, refusal: .taggedByGuest(vlan: 30)))
        // On an untagged port group the guest's own tag passes unchanged, as before VLANs were modelled.
        let guestTagged = vswitch.deliverFromVM(frame(to: client, from: web01, vlan: 30), from: web01)
        #expect(guestTagged == VirtualSwitchDelivery(uplink: true))
        #expect(guestTagged.uplinkCopy(of: frame(to: client, from: web01, vlan: 30)) == Array(frame(to: client, from: web01, vlan: 30)))
    }

    @Test func forgedTransmitsRejectDropsAndCountsAForeignSourceMAC() throws {
        var vswitch = try vswitch()
        // db01 (DB: reject) claims web01's MAC: dropped at its port, counted on it and in total.
        for expected in 1...3 {
            #expect(vswitch.deliverFromVM(frame(to: .broadcast, from: web01), from: db01)
                    == VirtualSwitchDelivery(vlan: 20, refusal: .forgedSource(claimed: web01)))
            #expect(vswitch.port(for: db01)?.forgedTransmitDrops == expected)
        }
        #expect(vswitch.forgedTransmitDrops == 3)
        // Its own MAC passes.
        #expect(vswitch.deliverFromVM(frame(to: .broadcast, from: db01), from: db01) == VirtualSwitchDelivery(uplink: true, vlan: 20))
        // app01 (App: accept, the default) may send as web01; nothing is counted.
        #expect(vswitch.deliverFromVM(frame(to: .broadcast, from: web01), from: app01) == VirtualSwitchDelivery(nics: [app02], uplink: true, vlan: 10))
        #expect(vswitch.port(for: app01)?.forgedTransmitDrops == 0)
        #expect(vswitch.forgedTransmitDrops == 3)
        // The host's total outlives the NIC.
        try vswitch.detach(nic: db01)
        #expect(vswitch.forgedTransmitDrops == 3)
        #expect(VirtualSwitchRefusal.forgedSource(claimed: web01).description == "forged transmit: source MAC 00:50:56:00:00:10 is not the NIC's own")
    }

    @Test func aSpoofedFrameClaimsTheOtherMAC() throws {
        let bytes = SpoofedFrame.build(claiming: web01, vm: "db01", sequence: 2)
        let parsed = try EthernetFrame(bytes)
        #expect(parsed.source == web01 && parsed.destination == .broadcast && parsed.etherType.rawValue == 0x88B5)
        #expect(bytes.count == 60)
        #expect(String(decoding: parsed.payload.prefix { $0 != 0 }, as: UTF8.self) == "l2motion send-as db01 #2")
    }

    @Test func portGroupsDescribeAndDecodeTheirPolicy() throws {
        #expect(PortGroup(label: "Production").description == #""Production""#)
        #expect(PortGroup(label: "Production", vlanID: 10).description == #""Production" (VLAN 10)"#)
        #expect(PortGroup(label: "DB", vlanID: 20, forgedTransmits: .reject).description == #""DB" (VLAN 20, forged transmits reject)"#)
        // What an older host answered (no policy) still decodes, as accept.
        let old = try JSONDecoder().decode(PortGroup.self, from: Data(#"{"label":"Production","vlanID":10}"#.utf8))
        #expect(old == PortGroup(label: "Production", vlanID: 10, forgedTransmits: .accept))
        let group = PortGroup(label: "DB", vlanID: 20, forgedTransmits: .reject)
        #expect(try JSONDecoder().decode(PortGroup.self, from: JSONEncoder().encode(group)) == group)
        var vswitch = try vswitch()
        #expect(throws: VirtualSwitchError.invalidPortGroup(label: "Big", reason: "VLAN id 4095 is outside 0...4094")) {
            try vswitch.addPortGroup(PortGroup(label: "Big", vlanID: 4095))
        }
    }
}
