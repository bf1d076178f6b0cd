import Foundation
import L2Capture
import L2Control
import L2Edge
import Testing
@testable import L2Daemons
#if canImport(Glibc)
import Glibc
#endif

/// Live capture through the switch's real forwarding loop over socket-pair ports: the stream a
/// `capture-stream` request opens, read from the other end of a socket pair. Runs without root.
@Suite("Live capture streams (no root)", .serialized)
struct LiveCaptureTests {
    /// A connected pair: the switch's end (handed to the stream) and the reader's end.
    static func connectionPair() throws -> (switchEnd: OwnedDescriptor, readerEnd: OwnedDescriptor) {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw SystemError("socketpair")
        }
        return (OwnedDescriptor(taking: fds[0]), OwnedDescriptor(taking: fds[1]))
    }

    /// Starts the stream for `request` on a thread; returns its reply and what ends when the stream does.
    static func open(_ bench: SocketSwitchBench, _ request: SwitchRequest, on connection: OwnedDescriptor) throws
        -> (reply: ControlReply, done: DispatchSemaphore)
    {
        let opened = try #require(bench.daemon.openCaptureStream(request))
        let done = DispatchSemaphore(value: 0)
        if let stream = opened.stream {
            Thread.detachNewThread {
                stream(connection)
                done.signal()
            }
        } else {
            done.signal()
        }
        return (opened.reply, done)
    }

    /// Reads what arrives on `reader` within `seconds`: until `enough` says it has it all, or, without
    /// `enough`, until nothing came for 300 ms.
    static func read(_ reader: OwnedDescriptor, seconds: Double = 5, until enough: (([UInt8]) -> Bool)? = nil) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(seconds)
        while !(enough?(bytes) ?? false) && Date() < deadline {
            var entry = pollfd(fd: reader.rawValue, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, enough == nil ? 300 : 50) > 0 else {
                if enough == nil { break }
                continue
            }
            let count = chunk.withUnsafeMutableBytes { raw in (try? reader.read(into: raw)) ?? nil } ?? 0
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return bytes
    }

    static func packets(_ bytes: [UInt8]) -> [PcapngFile.Packet] { (try? PcapngFile(parsing: bytes))?.packets ?? [] }

    @Test("a stream starts with the interfaces, carries the records and comments the file gets, and ends the switch's way")
    func streamCarriesRecordsAndComments() throws {
        let bench = try SocketSwitchBench(virtioHeaders: [false, false, false])
        let (a, b) = (TestFrames.mac(0x0a), TestFrames.mac(0x0b))
        try bench.send(TestFrames.frame(to: TestFrames.broadcast, from: a, tag: 1), into: 0)  // before the reader: not streamed
        #expect(try bench.receive(from: 1) != nil)
        // Forwarded is not yet captured: the capture thread writes the frame's record a moment later,
        // and a reader attached before that would get it. Wait until the capture has it.
        bench.daemon.flushCaptures()
        let (switchEnd, readerEnd) = try Self.connectionPair()
        let (reply, done) = try Self.open(bench, .captureStream(port: nil), on: switchEnd)
        guard case .success = reply else { Issue.record("refused: \(reply)"); return }
        // The header arrives at once, before any frame.
        let header = Self.read(readerEnd) { (try? PcapngFile(parsing: $0))?.interfaces.count == 3 }
        #expect(try PcapngFile(parsing: header).interfaces.map(\.name) == ["p1", "p2", "p3"])
        try bench.send(TestFrames.frame(to: TestFrames.broadcast, from: b, tag: 2), into: 1)
        try bench.send(TestFrames.frame(to: TestFrames.broadcast, from: a, tag: 3), into: 2)  // a moves p1 → p3
        var stream = header + Self.read(readerEnd) { Self.packets(header + $0).count == 2 }
        let live = Self.packets(stream)
        #expect(live.map { $0.bytes[14] } == [2, 3])
        #expect(live.map(\.number) == [1, 2], "numbered within the stream")
        #expect(live.map(\.interface) == [1, 2])
        #expect(live[1].comments == ["station move 02:00:00:00:00:0a p1 → p3"])
        // The switch stops: the stream ends with the statistics, and the reader sees the end.
        let counters = (0..<3).map { bench.counters($0) }
        bench.stop()
        #expect(done.wait(timeout: .now() + 5) == .success, "the stream ended with the switch")
        stream += Self.read(readerEnd)
        let ended = try PcapngFile(parsing: stream)
        #expect(ended.statistics.map(\.received) == counters.map(\.rxFrames))
    }

    @Test("a reader that does not read loses records, counted on the next it gets; the switch forwards every frame meanwhile")
    func slowReaderLosesRecordsNotFrames() throws {
        let bench = try SocketSwitchBench(virtioHeaders: [false, false])
        defer { bench.stop() }
        let (a, b) = (TestFrames.mac(0x0a), TestFrames.mac(0x0b))
        // Made right after the switch started: its forwarding thread holds no copy of it (`startForwarding`
        // returns once that thread works on its own descriptor table), so the reader's hang-up shows.
        let (switchEnd, readerEnd) = try Self.connectionPair()
        // A small socket buffer, so the reader's ring (8 MiB) fills behind it.
        var small: Int32 = 4096
        setsockopt(switchEnd.rawValue, SOL_SOCKET, SO_SNDBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        let (reply, done) = try Self.open(bench, .captureStream(port: nil), on: switchEnd)
        guard case .success = reply else { Issue.record("refused: \(reply)"); return }
        let big = TestFrames.frame(to: b, from: a, tag: 1) + [UInt8](repeating: 0x77, count: 1400)
        let frames = 12_000  // 17 MB of records: twice what the ring holds
        for _ in 0..<frames {
            try bench.send(big, into: 0)
            #expect(try bench.receive(from: 1) == big)  // the switch keeps forwarding while the reader sleeps
        }
        #expect(bench.counters(1).txFrames == UInt64(frames), "every frame forwarded")
        // The reader catches up; one more frame afterwards carries the count of the last ones lost.
        var received = Self.read(readerEnd, seconds: 20)
        let marker = TestFrames.frame(to: b, from: a, tag: 2)
        try bench.send(marker, into: 0)
        let backlog = received
        received += Self.read(readerEnd, seconds: 10) { bytes in Self.packets(backlog + bytes).last?.bytes == marker }
        let live = Self.packets(received)
        let dropped = live.compactMap(\.dropCount).reduce(0, +)
        #expect(dropped > 0, "the ring overflowed")
        #expect(UInt64(live.count) + dropped == UInt64(frames + 1), "each record either arrived or was counted lost")
        #expect(live.last?.bytes == marker)
        #expect(try bench.receive(from: 1) == marker)
        // The reader goes away: the stream ends, and nothing is attached to the ring any more.
        readerEnd.close()
        #expect(done.wait(timeout: .now() + 5) == .success)
        #expect(bench.daemon.captureRing?.live.isActive == false)
        try bench.send(big, into: 0)
        #expect(try bench.receive(from: 1) == big, "the switch forwards after the reader left")
    }

    @Test("refusals name what is wrong: an unknown port")
    func refusals() throws {
        let bench = try SocketSwitchBench(virtioHeaders: [false, false])
        defer { bench.stop() }
        let opened = try #require(bench.daemon.openCaptureStream(.captureStream(port: "p9")))
        #expect(opened.stream == nil)
        guard case let .failure(error) = opened.reply else { Issue.record("accepted an unknown port"); return }
        #expect(error.message == "no port \"p9\" on switch sw; ports are p1, p2")
        #expect(bench.daemon.openCaptureStream(.status) == nil, "not a stream request")
    }
}
