import Foundation
import L2Capture
import L2Control
import L2Edge
import L2Switch
import L2Wire
import Testing
@testable import L2Daemons

/// The VLAN-aware switch's real forwarding thread over socket-pair ports: tags pushed and popped on
/// the way out (with the virtio-net header moved along), VLANs kept apart, the received bytes left
/// as they were for the capture, a hold-down and a port shut by port security. Runs anywhere,
/// without root.
@Suite("VLAN-aware switch over socket-pair ports (no root)", .serialized)
struct SocketVLANSwitchTests {
    static let (a, b, t) = (TestFrames.mac(0x0a), TestFrames.mac(0x0b), TestFrames.mac(0x07))

    /// p1 access VLAN 10, p2 access VLAN 20, p3 a trunk carrying both; all with virtio-net headers.
    static func bench(headers: Bool = true) throws -> SocketSwitchBench {
        try SocketSwitchBench(virtioHeaders: [headers, headers, headers]) { settings in
            settings.ports[0].vlanMode = .access(10)
            settings.ports[1].vlanMode = .access(20)
            settings.ports[2].vlanMode = .trunk(VLANSet([10, 20]), native: nil)
        }
    }

    @Test("access to trunk gets the tag, trunk to access loses it, and VLAN 20 hears nothing of VLAN 10")
    func tagsPushedAndPoppedOnTheWayOut() throws {
        let bench = try Self.bench(headers: false)
        defer { bench.stop() }
        let hello = TestFrames.frame(to: TestFrames.broadcast, from: Self.a, tag: 1)
        try bench.send(hello, into: 0)
        #expect(try bench.receive(from: 2) == VLANTagging.pushing(VLANTag(vid: 10), to: hello))
        let answer = VLANTagging.pushing(VLANTag(vid: 10), to: TestFrames.frame(to: Self.a, from: Self.t, tag: 2))
        try bench.send(answer, into: 2)
        #expect(try bench.receive(from: 0) == VLANTagging.popping(answer))
        // VLAN 20's broadcast reaches only the trunk, tagged 20; then a frame of VLAN 10 the trunk did not allow is dropped.
        let other = TestFrames.frame(to: TestFrames.broadcast, from: Self.b, tag: 3)
        try bench.send(other, into: 1)
        #expect(try bench.receive(from: 2) == VLANTagging.pushing(VLANTag(vid: 20), to: other))
        try bench.send(VLANTagging.pushing(VLANTag(vid: 30), to: TestFrames.frame(to: TestFrames.broadcast, from: Self.t, tag: 4)), into: 2)
        #expect(bench.waitForCore { $0.counters(of: PortID(3))?.rxDrops.vlanNotAllowed == 1 })
        for port in 0..<3 { #expect(try bench.queued(on: port) == nil, "p\(port + 1) got a frame it should not have") }
        // The capture keeps each frame as it was received.
        bench.daemon.flushCaptures()
        let captured = try PcapReader.readAll(path: bench.daemon.settings.capturePath)
        #expect(captured.map(\.bytes).prefix(3) == [hello, answer, other])
        #expect(captured.last?.comments == ["dropped: VLAN not allowed on the trunk"])
        let vlans = bench.daemon.withCore { $0.portsSnapshot(at: 0) }.vlans
        #expect(vlans.map(\.vlan) == [10, 20] && vlans.map(\.frames) == [2, 1])
    }

    @Test("a tagged TCP super-frame from the trunk reaches the access port untagged, its virtio-net header moved by 4 bytes; and back")
    func superFrameHeaderMovesWithTheTag() throws {
        let bench = try Self.bench()
        defer { bench.stop() }
        let (a, t) = (Self.a, Self.t)
        // a (p1, VLAN 10) speaks first so the trunk's frame to it is a known unicast.
        try bench.send(SocketSwitchTests.withHeader(.plain, TestFrames.frame(to: TestFrames.broadcast, from: a, tag: 1)), into: 0)
        _ = try bench.receive(from: 2)

        var tcp = a + t + [0x08, 0x00] + [0x45, 0, 0x0b, 0xb8, 0, 2, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
        tcp += [0x30, 0x39, 0x00, 0x50] + [UInt8](repeating: 0, count: 8) + [0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]
        tcp += [UInt8](repeating: 0x5a, count: 3000 - 40)
        let tso = VirtioNetHeader(flags: VirtioNetHeader.needsChecksumFlag, segmentationType: 1, headerLength: 54,
                                  segmentSize: 1460, checksumStart: 34, checksumOffset: 16)
        let tagged = VLANTagging.pushing(VLANTag(vid: 10), to: tcp)
        try bench.send(SocketSwitchTests.withHeader(tso.shifted(by: 4), tagged), into: 2)
        #expect(try bench.receive(from: 0) == SocketSwitchTests.withHeader(tso, tcp))

        // The same super-frame from a to t (now known on the trunk in VLAN 10) leaves tagged, header moved forward.
        var back = tcp
        back.replaceSubrange(0..<12, with: t + a)
        try bench.send(SocketSwitchTests.withHeader(tso, back), into: 0)
        #expect(try bench.receive(from: 2) == SocketSwitchTests.withHeader(tso.shifted(by: 4), VLANTagging.pushing(VLANTag(vid: 10), to: back)))
        #expect(try bench.queued(on: 1) == nil)
        #expect(bench.counters(0).txBytes == UInt64(tcp.count), "bytes are counted as sent, tag removed")
    }

    @Test("a hold-down keeps a station where it is and says so once; a shut port goes down and loses its carrier")
    func holdDownAndShut() throws {
        let bench = try SocketSwitchBench(virtioHeaders: [false, false, false]) { settings in
            settings.moveHoldDownSeconds = 60
            settings.ports[2].security = PortSecurity(maximumMACs: 1, violation: .shut)
        }
        defer { bench.stop() }
        let (a, b, t) = (Self.a, Self.b, Self.t)
        try bench.send(TestFrames.frame(to: TestFrames.broadcast, from: a, tag: 1), into: 0)
        _ = try bench.receive(from: 1)
        // a shows up on p2 within the hold-down: forwarded, not moved.
        let announce = TestFrames.frame(to: TestFrames.broadcast, from: a, tag: 2)
        try bench.send(announce, into: 1)
        #expect(try bench.receive(from: 0) == announce)
        try bench.send(TestFrames.frame(to: a, from: b, tag: 3), into: 1)
        #expect(try bench.receive(from: 0)?[14] == 3, "a's frames still go to p1")
        #expect(bench.log.all.contains { $0.contains("move ignored (hold-down): 02:00:00:00:00:0a stays on p1, seen on p2 (frame 2)") },
                "\(bench.log.all)")
        let events = bench.daemon.withCore { $0.eventSnapshots(since: 0) }.events
        #expect(events.filter { $0.kind == .moveIgnored }.count == 1)

        // p3 allows one station: a second one shuts it.
        try bench.send(TestFrames.frame(to: TestFrames.broadcast, from: t, tag: 4), into: 2)
        _ = try bench.receive(from: 0)
        try bench.send(TestFrames.frame(to: TestFrames.broadcast, from: TestFrames.mac(0x99), tag: 5), into: 2)
        #expect(bench.waitForCore { $0.isErrDisabled(PortID(3)) })
        #expect(bench.waitForCore { _ in !bench.ports[2].hasCarrier }, "the shut port's carrier goes down")
        #expect(bench.log.all.contains { $0.contains("port security violation on p3") && $0.contains("err-disabled") })
        try bench.daemon.setPort(index: 2, up: true)
        #expect(bench.ports[2].hasCarrier && !bench.daemon.withCore { $0.isErrDisabled(PortID(3)) })
    }
}
