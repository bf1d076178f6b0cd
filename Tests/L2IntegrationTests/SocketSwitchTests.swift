import Foundation
import L2Capture
import L2Edge
import L2Switch
import L2Wire
import Testing
@testable import L2Daemons

/// The switch's real forwarding thread (`SwitchDaemon`'s loop, capture ring included) over socket-pair
/// ports: learning, flooding, a station move, a port taken down, and ports with and without offload
/// metadata side by side. Runs anywhere, without root.
///
/// A frame that must not come out of a port is checked after a later frame from the same ingress port
/// has come out elsewhere: the loop forwards the frames of one port in order, so by then the earlier
/// one has gone wherever it was going.
@Suite("Switch over socket-pair ports (no root)", .serialized)
struct SocketSwitchTests {
    static let (a, b, c) = (TestFrames.mac(0x0a), TestFrames.mac(0x0b), TestFrames.mac(0x0c))

    @Test("learning, flooding, a station move and a port taken down, through the real forwarding loop")
    func learnFloodMoveAndPortDown() throws {
        let bench = try SocketSwitchBench(virtioHeaders: [false, false, false])
        defer { bench.stop() }
        let (a, b, c) = (Self.a, Self.b, Self.c)

        // A broadcast from a (p1) floods to p2 and p3, not back to p1.
        let hello = TestFrames.frame(to: TestFrames.broadcast, from: a, tag: 1)
        try bench.send(hello, into: 0)
        #expect(try bench.receive(from: 1) == hello)
        #expect(try bench.receive(from: 2) == hello)

        // b (p2) answers a: known, so only p1 gets it. Then a's unicast to b goes to p2 only.
        let reply = TestFrames.frame(to: a, from: b, tag: 2)
        try bench.send(reply, into: 1)
        #expect(try bench.receive(from: 0) == reply)
        let toB = TestFrames.frame(to: b, from: a, tag: 3)
        try bench.send(toB, into: 0)
        #expect(try bench.receive(from: 1) == toB)
        // An unknown unicast (c has not spoken yet) floods.
        let toC = TestFrames.frame(to: c, from: a, tag: 4)
        try bench.send(toC, into: 0)
        #expect(try bench.receive(from: 1) == toC)
        #expect(try bench.receive(from: 2) == toC)
        // Nothing else came out anywhere: not the broadcast back to p1, not the replies to p3.
        for port in 0..<3 { #expect(try bench.queued(on: port) == nil, "p\(port + 1) got a frame it should not have") }

        let now = SystemClock.wallNanoseconds()
        let table = bench.daemon.withCore { $0.macTableSnapshot(at: now) }
        #expect(table.map { [$0.mac.description: $0.port] } .count == 2)
        #expect(table.first { $0.mac == MACAddress(bytes: a, at: 0) }?.port == PortID(1))
        #expect(table.first { $0.mac == MACAddress(bytes: b, at: 0) }?.port == PortID(2))

        // a moves to p3 (its first frame there is the move, as a RARP would be); b's next frame to a goes to p3.
        let announce = TestFrames.frame(to: TestFrames.broadcast, from: a, tag: 5)
        try bench.send(announce, into: 2)
        #expect(try bench.receive(from: 0) == announce)
        #expect(try bench.receive(from: 1) == announce)
        let afterMove = TestFrames.frame(to: a, from: b, tag: 6)
        try bench.send(afterMove, into: 1)
        #expect(try bench.receive(from: 2) == afterMove)
        #expect(try bench.queued(on: 0) == nil, "a's old port still got its frame")
        let moves = bench.daemon.withCore { $0.eventSnapshots(since: 0) }.events.filter { $0.kind == .moved }
        try #require(moves.count == 1)
        #expect(moves[0].mac == MACAddress(bytes: a, at: 0) && moves[0].oldPort == PortID(1) && moves[0].newPort == PortID(3))
        #expect(moves[0].frameNumber == 5, "the announce was the fifth frame the switch captured")
        #expect(bench.log.all.contains { $0.contains("station move: 02:00:00:00:00:0a p1 -> p3 (frame 5)") },
                "the move is logged: \(bench.log.all)")

        // p3 goes down: a frame for a (on p3) is dropped, a broadcast skips p3, and what p3 sends is dropped.
        try bench.daemon.setPort(index: 2, up: false)
        #expect(!bench.ports[2].hasCarrier)
        try bench.send(TestFrames.frame(to: a, from: b, tag: 7), into: 1)
        let flood = TestFrames.frame(to: TestFrames.broadcast, from: b, tag: 8)
        try bench.send(flood, into: 1)
        #expect(try bench.receive(from: 0) == flood)
        try bench.send(TestFrames.frame(to: b, from: a, tag: 9), into: 2)
        #expect(bench.waitForCore { $0.counters(of: PortID(3))?.rxDrops.portDown == 1 }, "p3's frame was read and dropped")
        for port in 0..<3 { #expect(try bench.queued(on: port) == nil, "p\(port + 1) got a frame while p3 was down") }
        #expect(bench.counters(1).rxDrops.portDown == 1, "the unicast for a on the down port")
        #expect(bench.counters(2).txFrames == 3, "p3 sent only the three frames before it went down")

        // Every frame read was captured once, in order, with its bytes, on its ingress port.
        bench.daemon.flushCaptures()
        let captured = try PcapReader.readAll(path: bench.daemon.settings.capturePath)
        #expect(captured.map { $0.bytes[14] } == [1, 2, 3, 4, 5, 6, 7, 8, 9])
        #expect(captured.map(\.interface) == ["p1", "p2", "p1", "p1", "p3", "p2", "p2", "p2", "p3"])
        #expect(captured[4].bytes == announce)
        // The decisions that tell the story are comments on their frames, and on no other.
        #expect(captured.map(\.comments) == [
            [], [], [],
            ["flooded: 02:00:00:00:00:0c unknown"],
            ["station move 02:00:00:00:00:0a p1 → p3"],
            ["unicast to p3, was p1 until packet 5"],
            ["dropped: port down"],
            [],
            ["dropped: port down"],
        ])

        // At close, each port's statistics block says what its counters say.
        let counters = (0..<3).map { bench.counters($0) }
        let closed = try PcapngFile(parsing: try #require(bench.stopReturningCapture()))
        #expect(closed.statistics.map(\.interface) == [0, 1, 2])
        #expect(closed.statistics.map(\.received) == counters.map(\.rxFrames))
        #expect(closed.statistics.map(\.dropped) == counters.map(\.rxDrops.total))
        #expect(closed.statistics.map(\.received) == [3, 4, 2])
    }

    @Test("a port with offload metadata and one without: headers added and stripped, checksums filled in, TCP super-frames segmented")
    func portsWithAndWithoutOffloads() throws {
        let bench = try SocketSwitchBench(virtioHeaders: [true, false])
        defer { bench.stop() }
        let (a, b) = (Self.a, Self.b)
        // b (no metadata) speaks first: the port with metadata gets a plain header before the frame.
        let fromB = TestFrames.frame(to: TestFrames.broadcast, from: b, tag: 1)
        try bench.send(fromB, into: 1)
        #expect(try bench.receive(from: 0) == [UInt8](repeating: 0, count: VirtioNetHeader.length) + fromB)

        // a sends a UDP frame whose checksum is partial: b gets the frame alone, its checksum complete.
        var udp = b + a + [0x08, 0x00]
        udp += [0x45, 0, 0, 36, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]  // IPv4, 36 bytes
        udp += [0x30, 0x39, 0x00, 0x35, 0, 16, 0x12, 0x34] + Array("payload!".utf8)     // UDP, 16 bytes
        let partial = VirtioNetHeader(flags: VirtioNetHeader.needsChecksumFlag, segmentationType: 0, headerLength: 0,
                                      segmentSize: 0, checksumStart: 34, checksumOffset: 6)
        try bench.send(Self.withHeader(partial, udp), into: 0)
        var expected = udp
        let sum = InternetChecksum.compute(udp[34...])
        expected[40] = UInt8(sum >> 8)
        expected[41] = UInt8(sum & 0xff)
        #expect(try bench.receive(from: 1) == expected)

        // A TCP super-frame for a port without offloads is cut into wire frames there: 2960 bytes of
        // payload in segments of at most 1460, each with its own IP id and checksum, TCP sequence
        // number and checksum (the super-frame's two checksum fields hold zeros).
        var tcp = b + a + [0x08, 0x00] + [0x45, 0, 0x0b, 0xb8, 0, 2, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
        tcp += [0x30, 0x39, 0x00, 0x50] + [UInt8](repeating: 0, count: 8) + [0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]
        tcp += [UInt8](repeating: 0x5a, count: 3000 - 40)
        let tso = VirtioNetHeader(flags: VirtioNetHeader.needsChecksumFlag, segmentationType: 1, headerLength: 54,
                                  segmentSize: 1460, checksumStart: 34, checksumOffset: 16)
        try bench.send(Self.withHeader(tso, tcp), into: 0)
        let segments = try (0..<3).map { _ in try #require(try bench.receive(from: 1)) }
        #expect(segments.map(\.count) == [1514, 1514, 94])
        for (index, segment) in segments.enumerated() {
            #expect(Array(segment[..<14]) == b + a + [0x08, 0x00])
            let ip = try IPv4Packet(segment[14...])
            let wire = try TCPSegment(ip.payload)
            #expect(ip.isChecksumValid && ip.identification == 2 + UInt16(index) && ip.dontFragment)
            #expect(wire.isChecksumValid(source: ip.source, destination: ip.destination))
            #expect(wire.sequenceNumber == UInt32(1460 * index) && wire.flags == .ack)
        }
        #expect(segments.flatMap { $0[54...] } == Array(tcp[54...]))
        #expect(bench.counters(1).txFrames == 4 && bench.counters(1).txBytes == UInt64(expected.count + 1514 + 1514 + 94))
        #expect(bench.counters(1).txDrops.badOffload == 0)

        // A UDP super-frame (UFO) cannot be cut by the switch: it is dropped on the way out, counted and noted.
        let ufo = VirtioNetHeader(flags: VirtioNetHeader.needsChecksumFlag, segmentationType: 3, headerLength: 42,
                                  segmentSize: 8, checksumStart: 34, checksumOffset: 6)
        try bench.send(Self.withHeader(ufo, udp), into: 0)
        #expect(bench.waitForCore { $0.counters(of: PortID(2))?.txDrops.badOffload == 1 })
        // A frame after them still goes through, and the UDP super-frame never did.
        let marker = TestFrames.frame(to: b, from: a, tag: 9)
        try bench.send(Self.withHeader(.plain, marker), into: 0)
        #expect(try bench.receive(from: 1) == marker)
        #expect(try bench.queued(on: 1) == nil)
        bench.daemon.flushCaptures()
        let captured = try PcapReader.readAll(path: bench.daemon.settings.capturePath)
        let superFrame = captured.first { $0.originalLength == tcp.count }
        #expect(superFrame?.bytes == tcp, "the capture records the super-frame as it entered")
        #expect(superFrame?.comments == ["sent to p2 as 3 segments (software segmentation)"])
        #expect(captured.filter { $0.originalLength == udp.count }.map(\.comments) == [
            [], ["not delivered to p2: a super-frame for a port without offloads that could not be segmented (offload header does not fit the frame)"],
        ])

        // A header that does not fit its frame is dropped on ingress, checked once.
        var broken = partial
        broken.checksumStart = 200
        try bench.send(Self.withHeader(broken, udp), into: 0)
        #expect(bench.waitForCore { $0.counters(of: PortID(1))?.rxDrops.badOffload == 1 })
    }

    static func withHeader(_ header: VirtioNetHeader, _ frame: [UInt8]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: VirtioNetHeader.length) + frame
        bytes.withUnsafeMutableBytes { header.write(to: $0) }
        return bytes
    }
}
