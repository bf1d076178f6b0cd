import Foundation
import L2Control
import L2Edge
import L2Switch
import L2Wire
import Testing
@testable import L2Lab

/// The production switch of the default lab: p1 client01, p2 esx01's uplink, p3 esx02's uplink.
enum RelearnLab {
    static let vm = MACAddress("00:50:56:00:00:10")!
    static let names: [PortID: String] = [1: "client01", 2: "esx01", 3: "esx02", 4: "client02"]
    static let resumed: UInt64 = 1_795_889_108_443_500_000
    static let stun: UInt64 = resumed - 3_500_000

    /// A learning event of web01's MAC onto `to` at `ms` milliseconds after the resume.
    static func event(_ kind: SwitchEvent.Kind = .moved, from: PortID?, to: PortID, ms: Double, frame: UInt64,
                      mac: MACAddress = RelearnLab.vm) -> SwitchEventSnapshot {
        let time = UInt64(Int64(resumed) + Int64(ms * 1e6))
        return SwitchEventSnapshot(SwitchEvent(kind: kind, time: time, mac: mac, oldPort: from, newPort: to, frameNumber: frame),
                                   portName: { names[$0] ?? $0.description })
    }

    static func match(_ events: [SwitchEventSnapshot], announces: [UInt64]) -> RelearnMatch {
        RelearnMatcher.match(events: events, mac: vm, destinationPort: 3, sourcePort: 2, announceFrames: announces, stunAt: stun, resumedAt: resumed)
    }
}

@Suite("RelearnMatcher: the relearn is the destination's move, not whoever moved the MAC first")
struct RelearnMatcherTests {
    @Test("the normal migration: one move esx01 → esx02 by the first RARP, no conflict")
    func normal() {
        let match = RelearnLab.match([RelearnLab.event(from: 2, to: 3, ms: 0.09, frame: 424)], announces: [424, 435, 472, 529, 608])
        #expect(match.relearn?.frame == 424)
        #expect(match.relearn?.afterResumeMs == 0.09)
        #expect(match.relearn?.from == SwitchPortRef(id: 2, name: "esx01"))
        #expect(match.relearn?.to == SwitchPortRef(id: 3, name: "esx02"))
        #expect(match.relearnByAnnounce)
        #expect(match.conflicts.isEmpty)
    }

    @Test("issue 23: client01 sends web01's MAC 364.20 ms before the resume; the relearn is still the RARP's move, never negative")
    func foreignMoveBeforeTheResume() throws {
        let events = [
            RelearnLab.event(from: 2, to: 1, ms: -364.2, frame: 300),   // client01 sends web01's MAC
            RelearnLab.event(from: 1, to: 2, ms: -120, frame: 350),     // web01's own reply from esx01 takes it back
            RelearnLab.event(from: 2, to: 3, ms: 0.1, frame: 424),      // the first RARP on esx02
        ]
        let match = RelearnLab.match(events, announces: [424, 435])
        let relearn = try #require(match.relearn)
        #expect(relearn.frame == 424 && relearn.afterResumeMs >= 0 && match.relearnByAnnounce)
        #expect(match.conflicts.map(\.frame) == [300], "web01's own frame on esx01 before the stun is no conflict")
        #expect(match.conflicts.first?.to == SwitchPortRef(id: 1, name: "client01"))
        #expect(match.conflicts.first?.from == SwitchPortRef(id: 2, name: "esx01"))
        #expect(match.conflicts.first?.afterResumeMs == -364.2)
    }

    @Test("the RARP moves it off client01's port (not the source's), and client01 takes it back after the relearn")
    func foreignMovesAroundTheRelearn() {
        let events = [
            RelearnLab.event(from: 2, to: 1, ms: -50, frame: 400),
            RelearnLab.event(from: 1, to: 3, ms: 0.2, frame: 424),
            RelearnLab.event(from: 3, to: 1, ms: 30, frame: 430),       // back off the destination's port
            RelearnLab.event(from: 1, to: 3, ms: 50.1, frame: 435),     // the second RARP fixes it
            RelearnLab.event(from: 3, to: 4, ms: 90, frame: 441),       // and client02 too
        ]
        let match = RelearnLab.match(events, announces: [424, 435])
        #expect(match.relearn?.frame == 424 && match.relearn?.from?.name == "client01")
        #expect(match.conflicts.map(\.frame) == [400, 430, 441])
        #expect(match.conflicts.map(\.to.name) == ["client01", "client01", "client02"])
        #expect(match.conflicts[1].from?.name == "esx02")
    }

    @Test("no announce (Notify Switches off, or all dropped): the VM's own frame moves it, a relearn by frame N, not an announce")
    func relearnByTheVMsOwnTraffic() {
        let match = RelearnLab.match([RelearnLab.event(from: 2, to: 3, ms: 12.3, frame: 431)], announces: [])
        #expect(match.relearn?.frame == 431 && match.relearn?.afterResumeMs == 12.3)
        #expect(!match.relearnByAnnounce)
        #expect(match.conflicts.isEmpty)
    }

    @Test("a hold-down switch: the RARP's move is ignored (not a conflict, not the relearn); the VM's frame after the hold-down is")
    func holdDown() {
        let match = RelearnLab.match([RelearnLab.event(.moveIgnored, from: 2, to: 3, ms: 0.1, frame: 172),
                                      RelearnLab.event(from: 2, to: 3, ms: 3144, frame: 377)],
                                     announces: [172, 180, 201, 230, 270])
        #expect(match.ignored?.frame == 172 && match.ignored?.to.id == 3)
        #expect(match.relearn?.frame == 377 && !match.relearnByAnnounce)
        #expect(match.conflicts.isEmpty)
        var report = MigrationReport(result: .placeholder(status: .completed, error: nil), id: "m", vm: "web01", source: "esx01",
                                     destination: "esx02", preflight: [], outcome: "web01 runs on esx02")
        report.relearnMs = match.relearn?.afterResumeMs
        report.relearnFrame = match.relearn?.frame
        report.relearnByAnnounce = match.relearnByAnnounce
        report.moveIgnored = match.ignored
        #expect(RelearnText.relearn(report) == "switch relearned the MAC 3144.00 ms after resume by frame 377, not an announce; "
                + "its hold-down first ignored the move (frame 172, 0.10 ms after the resume)")
    }

    @Test("the VM's own frame before the first undropped announce: the relearn is that frame; the announce moves nothing")
    func ownFrameBeforeTheAnnounce() {
        let match = RelearnLab.match([RelearnLab.event(from: 2, to: 3, ms: 8, frame: 428)], announces: [472, 529, 608])
        #expect(match.relearn?.frame == 428 && !match.relearnByAnnounce)
    }

    @Test("a non-announce frame on the destination's port before the VM resumed there is a conflict, not a negative relearn")
    func destinationPortBeforeTheResume() {
        let events = [RelearnLab.event(from: 2, to: 3, ms: -20, frame: 410), RelearnLab.event(from: 3, to: 2, ms: -10, frame: 415),
                      RelearnLab.event(from: 2, to: 3, ms: 0.1, frame: 424)]
        let match = RelearnLab.match(events, announces: [424])
        #expect(match.relearn?.frame == 424 && match.relearn?.afterResumeMs == 0.1)
        #expect(match.conflicts.map(\.frame) == [410])
    }

    @Test("after aging the entry is learned, not moved: a learn on the destination's port is the relearn, one elsewhere a conflict")
    func learnedAfterAging() {
        let events = [
            RelearnLab.event(.learned, from: nil, to: 2, ms: -900, frame: 100),   // web01 on esx01 after aging: its own
            RelearnLab.event(.learned, from: nil, to: 1, ms: -200, frame: 300),   // client01 after the entry aged again
            RelearnLab.event(.learned, from: nil, to: 3, ms: 0.3, frame: 424),
        ]
        let match = RelearnLab.match(events, announces: [424])
        #expect(match.relearn?.frame == 424 && match.relearn?.from == nil && match.relearnByAnnounce)
        #expect(match.conflicts.map(\.frame) == [300])
        #expect(match.conflicts.first?.from == nil)
    }

    @Test("a frame from the source's port after the stun is a conflict: the VM was frozen there")
    func sourcePortAfterTheStun() {
        let events = [RelearnLab.event(from: 2, to: 3, ms: 0.1, frame: 424), RelearnLab.event(from: 3, to: 2, ms: 20, frame: 429)]
        #expect(RelearnLab.match(events, announces: [424]).conflicts.map(\.frame) == [429])
    }

    @Test("other MACs are not web01's business; no move onto the destination's port is no relearn")
    func otherMACsAndNoRelearn() {
        let other = MACAddress("02:00:00:00:00:01")!
        let match = RelearnLab.match([RelearnLab.event(from: 2, to: 1, ms: 5, frame: 500, mac: other)], announces: [424])
        #expect(match.relearn == nil && match.conflicts.isEmpty)
    }
}

@Suite("RelearnMatcher.uplinkPort: the destination's port from the switch's port list")
struct UplinkPortTests {
    static let ports = [
        PortSpec(name: "client01", namespace: "l2m-client01", interface: "eth0", summary: "eth0 of client client01"),
        PortSpec(name: "esx01", namespace: "l2m-esx01", interface: "vmnic0", summary: "vmnic0 of host esx01"),
        PortSpec(name: "esx02", namespace: "l2m-esx02", interface: "vmnic0", summary: "vmnic0 of host esx02"),
    ]

    @Test func byTheLabsDescription() {
        #expect(RelearnMatcher.uplinkPort(of: "esx02", interface: "vmnic0", lab: "other", in: Self.ports) == SwitchPortRef(id: 3, name: "esx02"))
        #expect(RelearnMatcher.uplinkPort(of: "esx01", interface: "vmnic0", lab: "l2m", in: Self.ports) == SwitchPortRef(id: 2, name: "esx01"))
    }

    @Test func byNamespaceAndInterfaceWithoutDescription() {
        let bare = Self.ports.map { port -> PortSpec in
            var port = port
            port.summary = nil
            port.name = "p-\(port.interface)-\(port.namespace.suffix(2))"
            return port
        }
        #expect(RelearnMatcher.uplinkPort(of: "esx02", interface: "vmnic0", lab: "l2m", in: bare)?.id == 3)
        #expect(RelearnMatcher.uplinkPort(of: "esx02", interface: "vmnic0", lab: "lab2", in: bare) == nil)
        #expect(RelearnMatcher.uplinkPort(of: "esx03", interface: "vmnic0", lab: "l2m", in: Self.ports) == nil)
    }

    @Test func portNamesForPeople() {
        #expect(SwitchPortRef(id: 1, name: "client01").owned == "client01's port p1")
        #expect(SwitchPortRef(id: 1, name: "p1").owned == "port p1")
    }
}

@Suite("MTUProbe: vmkping -d -s 8972 with the kernel's ping")
struct MTUProbeTests {
    @Test func readsTheMTUOfIpLinkShow() {
        let line = "5: vmk1@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 9000 qdisc fq_codel state UP mode DEFAULT group default qlen 1000\\    link/ether 02:4c:4d:00:00:11 brd ff:ff:ff:ff:ff:ff\n"
        #expect(MTUProbe.mtu(fromLink: line) == 9000)
        #expect(MTUProbe.mtu(fromLink: "1: lo: <LOOPBACK> mtu 65536 qdisc noqueue") == 65536)
        #expect(MTUProbe.mtu(fromLink: "Device \"vmk9\" does not exist.") == nil)
        #expect(MTUProbe.mtu(fromLink: "2: x: <UP> mtu") == nil)
    }

    @Test func pingFillsTheMTUWithDFSet() {
        let arguments = MTUProbe.pingArguments(interface: "vmk1", mtu: 9000, to: IPv4Address("192.168.100.12")!)
        #expect(arguments.starts(with: ["ping"]))
        #expect(arguments.contains(["-M", "do"]) && arguments.contains(["-s", "8972"]) && arguments.contains(["-I", "vmk1"]))
        #expect(arguments.contains(["-c", "2"]) && arguments.last == "192.168.100.12")
        #expect(MTUProbe.pingArguments(interface: "vmk2", mtu: 1500, to: IPv4Address("10.0.0.1")!).contains(["-s", "1472"]))
    }

    @Test func failureSaysWhatPingSaid() {
        #expect(MTUProbe.failure(standardError: "ping: local error: message too long, mtu=1500\n", mtu: 9000)
                == "ping -M do -s 8972: ping: local error: message too long, mtu=1500")
        #expect(MTUProbe.failure(standardError: "", mtu: 9000) == "no reply to 2 probes (ping -M do -s 8972)")
    }
}

/// The filter that finds a VM's RARPs in a switch's capture, run by libpcap on a real file.
@Suite struct AnnounceFilterTests {
    @Test("the announce filter finds the VM's RARPs untagged and 802.1Q-tagged, and nothing else")
    func taggedAndUntagged() throws {
        let path = NSTemporaryDirectory() + "l2m-announce-filter-\(getpid()).pcap"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let vm = RelearnLab.vm, other = MACAddress("00:50:56:00:00:11")!
        let rarp = Announce.rarpFrame(for: vm)
        let frames: [[UInt8]] = [
            rarp,                                                                      // 1: untagged RARP
            VLANTagging.inserting(VLANTag(vid: 10), into: rarp[...]),                  // 2: RARP on VLAN 10
            Announce.gratuitousARPFrame(mac: vm, ip: IPv4Address("10.10.0.10")!),    // 3: an ARP, not a RARP
            VLANTagging.inserting(VLANTag(vid: 10), into: Announce.rarpFrame(for: other)[...]),  // 4: another MAC's
        ]
        let writer = try PcapWriter(path: path)
        for (index, frame) in frames.enumerated() { #expect(writer.write(frame, wallNanoseconds: UInt64(index + 1) * 1_000_000)) }
        writer.close()
        let found = try PcapReader.readAll(path: path, filter: RelearnMatcher.announceFilter(mac: vm)).map(\.number)
        #expect(found == [1, 2])
        let plain = try PcapReader.readAll(path: path, filter: "rarp and ether src \(vm)").map(\.number)
        #expect(plain == [1], "a plain rarp filter misses the tagged RARP: why the announce filter names the tag")
    }
}
