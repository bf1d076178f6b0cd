import L2Wire
import Testing
@testable import L2Switch

/// A switch with two access ports in VLAN 10 (p1, p2), one in VLAN 20 (p3), a trunk carrying 10 and
/// 20 (p4) and two VLAN-unaware ports (p5, p6).
func vlanSwitch(_ configuration: SwitchCore.Configuration = .init(), trunkNative: UInt16? = nil) throws -> SwitchCore {
    var core = SwitchCore(configuration: configuration)
    try core.addPort(1, PortConfiguration(name: "p1", vlanMode: .access(10)))
    try core.addPort(2, PortConfiguration(name: "p2", vlanMode: .access(10)))
    try core.addPort(3, PortConfiguration(name: "p3", vlanMode: .access(20)))
    try core.addPort(4, PortConfiguration(name: "p4", vlanMode: .trunk(VLANSet([10, 20]), native: trunkNative)))
    try core.addPort(5, PortConfiguration(name: "p5"))
    try core.addPort(6, PortConfiguration(name: "p6"))
    return core
}

/// What the forwarding path writes for one copy: the frame with its encoding applied.
func encoded(_ frame: [UInt8], _ encoding: EgressEncoding) -> [UInt8] {
    switch encoding {
    case .keep: frame
    case let .push(vlan): VLANTagging.pushing(VLANTag(vid: vlan), to: frame)
    case .pop: VLANTagging.popping(frame) ?? []
    }
}

@Suite("VLAN-aware switch core")
struct VLANSwitchTests {
    let a = mac(0xA), b = mac(0xB), c = mac(0xC), t = mac(0x7)

    @Test func floodsStayInTheirVLANAndAreTaggedOnlyOnTheTrunk() throws {
        var core = try vlanSwitch()
        let fromP1 = core.receive(frame(to: .broadcast, from: a), on: 1, at: 0, frameNumber: 1)
        #expect(fromP1.decision == .flood && fromP1.vlan == 10 && !fromP1.taggedOnIngress)
        #expect(Array(core.floodTargets(for: fromP1, from: 1).encoded) == [EgressTarget(port: 2, encoding: .keep),
                                                                          EgressTarget(port: 4, encoding: .push(10))])
        let fromP3 = core.receive(frame(to: .broadcast, from: c), on: 3, at: 0, frameNumber: 2)
        #expect(Array(core.floodTargets(for: fromP3, from: 3).encoded) == [EgressTarget(port: 4, encoding: .push(20))])
        let fromTrunk = core.receive(taggedFrame(to: .broadcast, from: t, vid: 20), on: 4, at: 0, frameNumber: 3)
        #expect(fromTrunk.vlan == 20 && fromTrunk.taggedOnIngress)
        #expect(Array(core.floodTargets(for: fromTrunk, from: 4).encoded) == [EgressTarget(port: 3, encoding: .pop)])
        // The unaware ports are their own domain, VLAN 0, frames as received.
        let fromP5 = core.receive(frame(to: .broadcast, from: mac(0x55)), on: 5, at: 0, frameNumber: 4)
        #expect(fromP5.vlan == 0)
        #expect(Array(core.floodTargets(for: fromP5, from: 5).encoded) == [EgressTarget(port: 6, encoding: .keep)])
        #expect(Array(core.floodTargets(from: 1)) == [2, 4])
        #expect(Array(core.floodTargets(from: 6)) == [5])
        #expect(Array(core.floodTargets(from: 4)).isEmpty, "a trunk without a native VLAN floods no untagged frame")
    }

    /// Bytes in, bytes out: an untagged frame from an access port reaches the trunk with VLAN 10's
    /// tag, and the trunk's tagged answer reaches the access port untagged, byte for byte.
    @Test func accessToTrunkAndBackBytesInBytesOut() throws {
        var core = try vlanSwitch()
        let request = EthernetFrame.build(destination: .broadcast, source: a, etherType: .arp, payload: [UInt8](repeating: 0x11, count: 28))
        let flood = core.receive(request, on: 1, at: 0, frameNumber: 1)
        let toTrunk = try #require(Array(core.floodTargets(for: flood, from: 1).encoded).first { $0.port == 4 })
        #expect(encoded(request, toTrunk.encoding)
            == EthernetFrame.build(destination: .broadcast, source: a, vlan: VLANTag(vid: 10), etherType: .arp,
                                   payload: [UInt8](repeating: 0x11, count: 28) + [UInt8](repeating: 0, count: 18)))

        let answer = EthernetFrame.build(destination: a, source: t, vlan: VLANTag(vid: 10, pcp: 3), etherType: .arp,
                                         payload: [UInt8](repeating: 0x22, count: 28))
        let unicast = core.receive(answer, on: 4, at: 1, frameNumber: 2)
        #expect(unicast.decision == .unicast(1))
        #expect(unicast.egress == .pop)
        // The tag goes, nothing else: the padding the tagged frame had stays (56 bytes, as a Linux bridge leaves it).
        #expect(encoded(answer, unicast.egress)
            == Array(EthernetFrame.build(destination: a, source: t, etherType: .arp, payload: [UInt8](repeating: 0x22, count: 28)).prefix(56)))
        // And a's unicast back to t goes to the trunk, tagged.
        let back = core.receive(frame(to: t, from: a), on: 1, at: 2, frameNumber: 3)
        #expect(back.decision == .unicast(4) && back.egress == .push(10))
    }

    @Test func learningIsPerVLAN() throws {
        var core = try vlanSwitch()
        // The same MAC on the trunk in VLAN 10 and on p3 in VLAN 20: two stations, no move.
        _ = core.receive(taggedFrame(to: .broadcast, from: t, vid: 10), on: 4, at: 0, frameNumber: 1)
        let other = core.receive(frame(to: .broadcast, from: t), on: 3, at: 1, frameNumber: 2)
        #expect(other.event?.kind == .learned)
        #expect(core.macTable.entry(for: t, vlan: 10, at: 1)?.port == 4)
        #expect(core.macTable.entry(for: t, vlan: 20, at: 1)?.port == 3)
        #expect(core.macTable.entry(for: t, at: 1) == nil, "nothing learned in VLAN 0")
        #expect(core.macTable.count == 2)
        // A frame in VLAN 10 to t goes to the trunk; in VLAN 20, to p3.
        #expect(core.receive(frame(to: t, from: a), on: 1, at: 2, frameNumber: 3).decision == .unicast(4))
        #expect(core.receive(frame(to: t, from: c), on: 3, at: 2, frameNumber: 4).decision == .drop(.sameSegment))
        // A station known only in VLAN 20 is unknown in VLAN 10: flooded there.
        #expect(core.receive(frame(to: c, from: a), on: 1, at: 3, frameNumber: 5).decision == .flood)
        let rows = core.macTableSnapshot(at: 3)
        #expect(rows.map(\.portName) == ["p1", "p3", "p3", "p4"], "sorted by port, VLAN, MAC: \(rows)")
        #expect(rows.map(\.vlan) == [10, 20, 20, 10])
    }

    @Test func ingressChecksDropAndCount() throws {
        var core = try vlanSwitch()
        #expect(core.receive(taggedFrame(to: .broadcast, from: a, vid: 10), on: 1, at: 0, frameNumber: 1).decision == .drop(.taggedOnAccess))
        #expect(core.receive(taggedFrame(to: .broadcast, from: t, vid: 30), on: 4, at: 0, frameNumber: 2).decision == .drop(.vlanNotAllowed))
        #expect(core.receive(frame(to: .broadcast, from: t), on: 4, at: 0, frameNumber: 3).decision == .drop(.vlanNotAllowed),
                "untagged on a trunk without a native VLAN")
        #expect(core.receive(taggedFrame(to: .broadcast, from: t, vid: 4095), on: 4, at: 0, frameNumber: 4).decision == .drop(.vlanNotAllowed))
        // Tagged frames on unaware ports pass as they always did.
        #expect(core.receive(taggedFrame(to: .broadcast, from: mac(0x55), vid: 30), on: 5, at: 0, frameNumber: 5).decision == .flood)
        #expect(core.counters(of: 1)?.rxDrops.taggedOnAccess == 1)
        #expect(core.counters(of: 4)?.rxDrops.vlanNotAllowed == 3)
        #expect(core.macTable.count == 1, "only the unaware port's station was learned")
        for port in core.portIDs {
            let counters = try #require(core.counters(of: port))
            #expect(counters.rxFrames == counters.rxAccounted)
        }
    }

    @Test func aTrunksNativeVLANIsUntaggedBothWays() throws {
        var core = try vlanSwitch(trunkNative: 20)
        let untagged = core.receive(frame(to: .broadcast, from: t), on: 4, at: 0, frameNumber: 1)
        #expect(untagged.vlan == 20)
        #expect(Array(core.floodTargets(for: untagged, from: 4).encoded) == [EgressTarget(port: 3, encoding: .keep)])
        // Tagged with the native VLAN is accepted too, and leaves untagged.
        let tagged = core.receive(taggedFrame(to: .broadcast, from: t, vid: 20), on: 4, at: 1, frameNumber: 2)
        #expect(Array(core.floodTargets(for: tagged, from: 4).encoded) == [EgressTarget(port: 3, encoding: .pop)])
        // From the access port, VLAN 20 reaches the trunk untagged, VLAN 10 tagged.
        let fromP3 = core.receive(frame(to: .broadcast, from: c), on: 3, at: 2, frameNumber: 3)
        #expect(Array(core.floodTargets(for: fromP3, from: 3).encoded) == [EgressTarget(port: 4, encoding: .keep)])
        let fromP1 = core.receive(frame(to: .broadcast, from: a), on: 1, at: 2, frameNumber: 4)
        #expect(Array(core.floodTargets(for: fromP1, from: 1).encoded).last == EgressTarget(port: 4, encoding: .push(10)))
    }

    @Test func perVLANCountersCountFramesBytesAndFloods() throws {
        var core = try vlanSwitch()
        _ = core.receive(frame(to: .broadcast, from: a), on: 1, at: 0, frameNumber: 1)
        _ = core.receive(frame(to: a, from: b), on: 2, at: 1, frameNumber: 2)
        _ = core.receive(taggedFrame(to: .broadcast, from: t, vid: 20), on: 4, at: 2, frameNumber: 3)
        _ = core.receive(taggedFrame(to: .broadcast, from: t, vid: 30), on: 4, at: 3, frameNumber: 4)
        _ = core.receive(frame(to: .broadcast, from: mac(0x55)), on: 5, at: 4, frameNumber: 5)
        #expect(core.vlanCounters[10] == VLANCounters(frames: 2, bytes: 120, floods: 1))
        #expect(core.vlanCounters[20] == VLANCounters(frames: 1, bytes: 60, floods: 1))
        #expect(core.vlanCounters[30] == VLANCounters(), "a VLAN the trunk does not allow counts nothing")
        #expect(core.vlanCounters[0] == VLANCounters(frames: 1, bytes: 60, floods: 1))
        let snapshot = core.portsSnapshot(at: 5)
        #expect(snapshot.vlans.map(\.vlan) == [0, 10, 20])
        let ten = try #require(snapshot.vlans.first { $0.vlan == 10 })
        #expect(ten.ports == ["p1", "p2", "p4"] && ten.macCount == 2 && ten.frames == 2 && ten.floods == 1)
        #expect(snapshot.ports.map(\.modeDescription) == ["access 10", "access 10", "access 20", "trunk 10:20", "-", "-"])
    }

    @Test func anUnawareSwitchDoesNoVLANWork() throws {
        var core = try threePortSwitch()
        let result = core.receive(taggedFrame(to: .broadcast, from: a, vid: 77), on: 1, at: 0, frameNumber: 1)
        #expect(result.decision == .flood && result.vlan == 0)
        #expect(Array(core.floodTargets(for: result, from: 1).encoded).map(\.encoding) == [.keep, .keep])
        #expect(core.vlanCounters.isEmpty)
        #expect(core.portsSnapshot(at: 0).vlans.isEmpty)
    }

    @Test func aCopyTooBigForItsEgressPortIsDroppedThere() throws {
        var core = SwitchCore()
        try core.addPort(1, PortConfiguration(name: "vmk-a", mtu: 9000))
        try core.addPort(2, PortConfiguration(name: "vmk-b", mtu: 9000))
        try core.addPort(3, PortConfiguration(name: "small", mtu: 1500))
        let jumbo = frame(to: .broadcast, from: a, payload: 8000)
        let flood = core.receive(jumbo, on: 1, at: 0, frameNumber: 1)
        #expect(Array(core.floodTargets(for: flood, from: 1)) == [2])
        #expect(core.counters(of: 3)?.txDrops.oversize == 1)
        #expect(Array(core.floodTargets(for: core.receive(frame(to: .broadcast, from: a), on: 1, at: 1, frameNumber: 2), from: 1)) == [2, 3])
        _ = core.receive(frame(to: .broadcast, from: c), on: 3, at: 2, frameNumber: 3)
        #expect(core.receive(frame(to: c, from: a, payload: 1501), on: 1, at: 3, frameNumber: 4).decision == .drop(.oversize))
        #expect(core.receive(frame(to: c, from: a, payload: 1500), on: 1, at: 4, frameNumber: 5).decision == .unicast(3))
    }

    @Test func badPortSettingsAreRefused() throws {
        var core = SwitchCore()
        #expect(throws: SwitchError.invalidVLAN(port: 1, vlan: 4095)) {
            try core.addPort(1, PortConfiguration(name: "p1", vlanMode: .access(4095)))
        }
        #expect(throws: SwitchError.emptyTrunk(port: 1)) {
            try core.addPort(1, PortConfiguration(name: "p1", vlanMode: .trunk(VLANSet(), native: nil)))
        }
        #expect(throws: SwitchError.securityOnTrunk(port: 1)) {
            try core.addPort(1, PortConfiguration(name: "p1", vlanMode: .trunk(VLANSet([10]), native: nil), security: PortSecurity()))
        }
        #expect(throws: SwitchError.invalidSecurityLimit(port: 1, maximum: 0)) {
            try core.addPort(1, PortConfiguration(name: "p1", security: PortSecurity(maximumMACs: 0)))
        }
        #expect(SwitchError.securityOnTrunk(port: 1).description.contains("would stop vMotion on a host's trunk"))
        #expect(core.portIDs.isEmpty)
    }
}
