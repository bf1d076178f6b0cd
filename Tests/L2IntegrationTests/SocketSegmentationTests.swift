import Foundation
import L2Capture
import L2Control
import L2Edge
import L2Switch
import L2Wire
import Testing
@testable import L2Daemons

/// Software segmentation through the switch's real forwarding thread, over socket-pair ports: TCP
/// super-frames from a port with offload metadata leave a port without it as wire frames (tags
/// pushed or popped on the way), counted frame by frame, a full queue counted segment by segment,
/// and the capture keeping the super-frame as it entered with a note on what became of it. Runs
/// anywhere, without root.
@Suite("Software segmentation over socket-pair ports (no root)", .serialized)
struct SocketSegmentationTests {
    static let (a, b, t, u) = (TestFrames.mac(0x0a), TestFrames.mac(0x0b), TestFrames.mac(0x07), TestFrames.mac(0x0e))
    /// NOP, NOP, timestamps: what Linux puts in every segment of a stream.
    static let timestamps: [UInt8] = [1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78]

    /// An untagged IPv4 TCP super-frame of `payload` bytes (checksums as the kernel leaves them does
    /// not matter: the switch computes them afresh) and its TSO header: segments of 1448 bytes.
    static func superFrame(to destination: [UInt8], from source: [UInt8], payload: Int) -> (frame: [UInt8], header: VirtioNetHeader) {
        let data = (0..<payload).map { UInt8($0 % 251) }
        let tcp = TCPSegment.build(source: IPv4Address(10, 0, 0, 1), destination: IPv4Address(10, 0, 0, 2), sourcePort: 40000,
                                   destinationPort: 5201, sequenceNumber: 0xffff_f000, acknowledgmentNumber: 1,
                                   flags: [.ack, .psh], window: 502, options: timestamps, payload: data)
        let packet = IPv4Packet.build(source: IPv4Address(10, 0, 0, 1), destination: IPv4Address(10, 0, 0, 2), protocol: .tcp,
                                      payload: tcp, identification: 0xfffe)
        let frame = EthernetFrame.build(destination: MACAddress(bytes: destination, at: 0), source: MACAddress(bytes: source, at: 0),
                                        etherType: .ipv4, payload: packet)
        let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksumFlag, segmentationType: 1, headerLength: 66,
                                     segmentSize: 1448, checksumStart: 34, checksumOffset: 16)
        return (frame, header)
    }

    /// Checks wire frames cut from the untagged `superFrame`: each at most 1448 bytes of payload, tagged
    /// `vlan` (or not), its IPv4 id and TCP sequence number advanced, both checksums correct, PSH on the
    /// last only; their payloads joined are the super-frame's.
    static func expectSegments(_ segments: [[UInt8]], of superFrame: [UInt8], vlan: UInt16?,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        let original = try IPv4Packet(superFrame[14...])
        let originalTCP = try TCPSegment(original.payload)
        #expect(segments.count == (originalTCP.payload.count + 1447) / 1448, sourceLocation: sourceLocation)
        let l2 = vlan == nil ? 14 : 18
        var payload: [UInt8] = []
        for (index, segment) in segments.enumerated() {
            #expect(segment.prefix(12) == superFrame.prefix(12), sourceLocation: sourceLocation)
            #expect(VLANTagging.isTagged(segment[...]) == (vlan != nil) && VLANTagging.vlanID(of: segment[...]) == vlan ?? 0,
                    sourceLocation: sourceLocation)
            let ip = try IPv4Packet(segment[l2...])
            let tcp = try TCPSegment(ip.payload)
            #expect(ip.bytes.count == segment.count - l2 && ip.isChecksumValid && ip.identification == 0xfffe &+ UInt16(index),
                    sourceLocation: sourceLocation)
            #expect(tcp.isChecksumValid(source: ip.source, destination: ip.destination), "segment \(index)", sourceLocation: sourceLocation)
            #expect(tcp.sequenceNumber == originalTCP.sequenceNumber &+ UInt32(payload.count), sourceLocation: sourceLocation)
            #expect(tcp.flags == (index == segments.count - 1 ? [.ack, .psh] : .ack), sourceLocation: sourceLocation)
            #expect(tcp.payload.count <= 1448 && Array(tcp.options) == timestamps, sourceLocation: sourceLocation)
            payload += tcp.payload
        }
        #expect(payload == Array(originalTCP.payload), "the payloads joined are the super-frame's", sourceLocation: sourceLocation)
    }

    /// The next `count` frames out of port `port`, each waited for.
    static func receive(_ count: Int, from port: Int, _ bench: SocketSwitchBench,
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> [[UInt8]] {
        try (0..<count).map { index in
            try #require(try bench.receive(from: port), "frame \(index + 1) of \(count) missing on p\(port + 1)", sourceLocation: sourceLocation)
        }
    }

    @Test("a 64 KiB super-frame leaves a port without offloads as 46 wire frames, each counted; the capture keeps the super-frame")
    func largeSuperFrame() throws {
        let bench = try SocketSwitchBench(virtioHeaders: [true, false])
        defer { bench.stop() }
        try bench.send(TestFrames.frame(to: TestFrames.broadcast, from: Self.b, tag: 1), into: 1)
        _ = try bench.receive(from: 0)

        let (frame, header) = Self.superFrame(to: Self.b, from: Self.a, payload: 65_535 - 20 - 32)
        try bench.send(SocketSwitchTests.withHeader(header, frame), into: 0)
        let segments = try Self.receive(46, from: 1, bench)
        try Self.expectSegments(segments, of: frame, vlan: nil)
        #expect(try bench.queued(on: 1) == nil)
        let counters = bench.counters(1)
        #expect(counters.txFrames == 46 && counters.txBytes == UInt64(segments.map(\.count).reduce(0, +)))
        #expect(counters.txDrops.total == 0 && bench.counters(0).rxFrames == 1 && bench.counters(0).rxDrops.total == 0)

        bench.daemon.flushCaptures()
        let captured = try PcapReader.readAll(path: bench.daemon.settings.capturePath)
        #expect(captured.count == 2, "the super-frame is one record, not 46")
        #expect(captured.last?.bytes == frame && captured.last?.interface == "p1")
        #expect(captured.last?.comments == ["sent to p2 as 46 segments (software segmentation)"])
    }

    /// p1 access VLAN 10 without offloads, p2 access VLAN 10 with, p3 a trunk without, p4 a trunk with.
    static func vlanBench() throws -> SocketSwitchBench {
        try SocketSwitchBench(virtioHeaders: [false, true, false, true]) { settings in
            settings.ports[0].vlanMode = .access(10)
            settings.ports[1].vlanMode = .access(10)
            settings.ports[2].vlanMode = .trunk(VLANSet([10]), native: nil)
            settings.ports[3].vlanMode = .trunk(VLANSet([10]), native: nil)
        }
    }

    @Test("segments lose the tag for an access port and gain it for a trunk; a flood segments each copy in its own form")
    func segmentsTaggedAndUntagged() throws {
        let bench = try Self.vlanBench()
        defer { bench.stop() }
        let (a, b, t, u) = (Self.a, Self.b, Self.t, Self.u)
        // a (p1) and t (p3, tagged) speak first, so frames to them are known unicasts.
        try bench.send(TestFrames.frame(to: TestFrames.broadcast, from: a, tag: 1), into: 0)
        for port in [1, 2, 3] { _ = try bench.receive(from: port) }
        try bench.send(VLANTagging.pushing(VLANTag(vid: 10), to: TestFrames.frame(to: TestFrames.broadcast, from: t, tag: 2)), into: 2)
        for port in [0, 1, 3] { _ = try bench.receive(from: port) }

        // From a station behind the trunk with offloads to a on its access port: the tag popped, the
        // header moved back 4 bytes, then cut.
        let toA = Self.superFrame(to: a, from: TestFrames.mac(0x04), payload: 5000)
        let tagged = VLANTagging.pushing(VLANTag(vid: 10), to: toA.frame)
        try bench.send(SocketSwitchTests.withHeader(toA.header.shifted(by: 4), tagged), into: 3)
        try Self.expectSegments(Self.receive(4, from: 0, bench), of: toA.frame, vlan: nil)

        // From the access port with offloads to t on the trunk without: the tag pushed, then cut.
        let toT = Self.superFrame(to: t, from: b, payload: 5000)
        try bench.send(SocketSwitchTests.withHeader(toT.header, toT.frame), into: 1)
        try Self.expectSegments(Self.receive(4, from: 2, bench), of: toT.frame, vlan: 10)

        // To an unknown station: p1 gets untagged segments, p3 tagged ones, p4 (offloads) the tagged super-frame whole.
        let toU = Self.superFrame(to: u, from: b, payload: 3000)
        try bench.send(SocketSwitchTests.withHeader(toU.header, toU.frame), into: 1)
        try Self.expectSegments(Self.receive(3, from: 0, bench), of: toU.frame, vlan: nil)
        try Self.expectSegments(Self.receive(3, from: 2, bench), of: toU.frame, vlan: 10)
        #expect(try bench.receive(from: 3) == SocketSwitchTests.withHeader(toU.header.shifted(by: 4), VLANTagging.pushing(VLANTag(vid: 10), to: toU.frame)))
        for port in 0..<4 { #expect(try bench.queued(on: port) == nil, "p\(port + 1) got a frame it should not have") }
        #expect(bench.counters(0).txFrames == 1 + 4 + 3 && bench.counters(2).txFrames == 1 + 4 + 3 && bench.counters(3).txFrames == 3)
        #expect((0..<4).allSatisfy { bench.counters($0).txDrops.total == 0 && bench.counters($0).rxDrops.total == 0 })

        bench.daemon.flushCaptures()
        let captured = try PcapReader.readAll(path: bench.daemon.settings.capturePath)
        #expect(captured.suffix(3).map(\.comments) == [
            ["sent to p1 as 4 segments (software segmentation)"],
            ["sent to p3 as 4 segments (software segmentation)"],
            ["flooded: 02:00:00:00:00:0e unknown", "sent to p1 as 3 segments (software segmentation)"],
        ])
    }

    @Test("segments the port's queue refuses are counted as queue_full, one by one, and the note says how many went")
    func queueFull() throws {
        let bench = try SocketSwitchBench(virtioHeaders: [true, false])
        defer { bench.stop() }
        try bench.send(TestFrames.frame(to: TestFrames.broadcast, from: Self.b, tag: 1), into: 1)
        _ = try bench.receive(from: 0)
        // Nobody reads p2 now: its socket's send buffer (about 200 KiB) fills after a few super-frames.
        let (frame, header) = Self.superFrame(to: Self.b, from: Self.a, payload: 65_535 - 20 - 32)
        var sent = 0
        while sent < 200 && bench.counters(1).txDrops.queueFull == 0 {
            try bench.send(SocketSwitchTests.withHeader(header, frame), into: 0)
            sent += 1
            try #require(bench.waitForCore { $0.counters(of: PortID(1))?.rxFrames == UInt64(sent) })
        }
        let counters = bench.counters(1)
        try #require(counters.txDrops.queueFull > 0, "p2's queue never filled")
        // Until the last super-frame every segment went; of the last, `went` did and the rest were refused.
        let went = Int(counters.txFrames) - 46 * (sent - 1)
        try #require((0..<46).contains(went))
        #expect(counters.txDrops.queueFull == UInt64(46 - went), "every segment counted once, sent or refused")
        #expect(counters.txDrops.badOffload == 0)
        var delivered: UInt64 = 0
        while try bench.queued(on: 1) != nil { delivered += 1 }
        #expect(delivered == counters.txFrames)

        bench.daemon.flushCaptures()
        let notes = try PcapReader.readAll(path: bench.daemon.settings.capturePath).dropFirst().map(\.comments)
        #expect(notes.count == sent)
        #expect(notes.last == ["sent to p2 as \(went) of 46 segments (software segmentation; \(46 - went) refused: queue full)"])
        #expect(notes.dropLast().allSatisfy { $0 == ["sent to p2 as 46 segments (software segmentation)"] })
    }
}
