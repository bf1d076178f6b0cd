import Testing
import L2Wire
@testable import L2Guest

@Suite struct TCPDataTests {
    @Test func requestIsAnsweredWithThePiggybackedAck() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        let replies = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("hello\n".utf8))
        try #require(replies.count == 1)
        let reply = replies[0]
        #expect(reply.flags == [.psh, .ack])
        #expect(reply.sequenceNumber == s && reply.acknowledgmentNumber == c &+ 6)
        #expect(Array(reply.payload) == Array("HELLO\n".utf8))
        #expect(reply.window == 16_384) // the service read the request: the buffer is empty again
        // The client's ACK completes the exchange: nothing to send, the bytes count.
        #expect(h.send(seq: c &+ 6, ack: s &+ 6, flags: .ack).isEmpty)
        #expect(h.summary()?.bytesIn == 6 && h.summary()?.bytesOut == 6)
    }

    @Test func requestSplitOverSegmentsWaitsForTheRest() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        let first = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("hel".utf8))
        #expect(first.count == 1 && first[0].payload.isEmpty && first[0].acknowledgmentNumber == c &+ 3)
        #expect(first.first?.window == UInt16(16_381))
        let second = h.send(seq: c &+ 3, ack: s, flags: [.psh, .ack], payload: Array("lo\n".utf8))
        #expect(second.count == 1 && Array(second[0].payload) == Array("HELLO\n".utf8))
    }

    @Test func unpushedSegmentGetsADelayedAck() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        #expect(h.send(seq: c, ack: s, flags: .ack, payload: Array("par".utf8)).isEmpty)
        #expect(h.tick(after: 39 * tcpMillisecond).isEmpty)
        let ack = h.tick(after: tcpMillisecond)
        #expect(ack.count == 1 && ack[0].acknowledgmentNumber == c &+ 3)
    }

    @Test func everySecondFullSegmentIsAcked() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        let full = Array(repeating: UInt8(0x61), count: 1_460) // no newline: the service waits
        #expect(h.send(seq: c, ack: s, flags: .ack, payload: full).isEmpty)
        let ack = h.send(seq: c &+ 1_460, ack: s, flags: .ack, payload: full)
        #expect(ack.count == 1 && ack[0].acknowledgmentNumber == c &+ 2_920 && ack[0].window == UInt16(16_384 - 2_920))
        #expect(h.stack.nextDeadline(in: h.memory) == nil) // nothing in flight, nothing delayed
    }

    @Test func sequenceNumbersWrapAroundTwoToThe32() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect(isn: 0xFFFF_FFF8)
        #expect(c == 0xFFFF_FFF9)
        let first = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("0123456789\n".utf8))
        #expect(first.count == 1 && first[0].acknowledgmentNumber == 4)
        let second = h.send(seq: 4, ack: s &+ 11, flags: [.psh, .ack], payload: Array("abc\n".utf8))
        #expect(second.count == 1 && Array(second[0].payload) == Array("ABC\n".utf8) && second[0].acknowledgmentNumber == 8)
        // An old duplicate from before the wrap is recognised as one.
        let old = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("0123456789\n".utf8))
        #expect(old.count == 1 && old[0].payload.isEmpty && old[0].acknowledgmentNumber == 8)
    }

    @Test func duplicateSegmentIsAckedAndNotServedTwice() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        _ = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("one\n".utf8))
        let again = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("one\n".utf8))
        try #require(again.count == 1)
        #expect(again[0].payload.isEmpty && again[0].acknowledgmentNumber == c &+ 4)
        #expect(h.stack.statistics.droppedOutOfWindow == 1)
        #expect(h.summary()?.bytesIn == 4)
    }

    @Test func overlappingRetransmissionDeliversOnlyTheNewBytes() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        _ = h.send(seq: c, ack: s, flags: .ack, payload: Array("ab".utf8))
        let replies = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("abcd\n".utf8))
        #expect(replies.count == 1 && Array(replies[0].payload) == Array("ABCD\n".utf8))
    }

    @Test func reorderedSegmentIsDroppedWithADuplicateAckThenRecovered() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        let early = h.send(seq: c &+ 4, ack: s, flags: [.psh, .ack], payload: Array("two\n".utf8))
        #expect(early.count == 1 && early[0].acknowledgmentNumber == c && early[0].payload.isEmpty)
        #expect(h.stack.statistics.droppedOutOfOrder == 1)
        let first = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("one\n".utf8))
        #expect(first.count == 1 && Array(first[0].payload) == Array("ONE\n".utf8))
        let second = h.send(seq: c &+ 4, ack: s &+ 4, flags: [.psh, .ack], payload: Array("two\n".utf8))
        #expect(second.count == 1 && Array(second[0].payload) == Array("TWO\n".utf8))
    }

    @Test func outOfWindowSegmentIsAckedAndDropped() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        let far = h.send(seq: c &+ 100_000, ack: s, flags: [.psh, .ack], payload: Array("x\n".utf8))
        #expect(far.count == 1 && far[0].flags == .ack && far[0].acknowledgmentNumber == c && far[0].sequenceNumber == s)
        #expect(h.stack.statistics.droppedOutOfWindow == 1)
        // An ACK for data never sent is answered with an ACK too, and dropped.
        let ahead = h.send(seq: c, ack: s &+ 5_000, flags: [.psh, .ack], payload: Array("y\n".utf8))
        #expect(ahead.count == 1 && ahead[0].payload.isEmpty && ahead[0].acknowledgmentNumber == c)
        #expect(h.stack.statistics.droppedBadAck == 1)
    }

    @Test func downloadFollowsSlowStartAndThePeersWindow() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        // 100 000 bytes of pattern: the first flight is the initial window, 10 segments of 1460.
        let flight = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("get 100000\n".utf8))
        #expect(flight.count == 10)
        #expect(flight.allSatisfy { $0.payload.count == 1_460 })
        var received = flight.flatMap { Array($0.payload) }
        var pending = flight
        // The client ACKs every second segment, as Linux does: slow start doubles cwnd per round.
        var rounds = 0
        var last = flight
        while !pending.isEmpty, rounds < 20 {
            rounds += 1
            h.now += tcpMillisecond
            var next: [TCPSegment] = []
            for index in stride(from: 1, to: pending.count + 1, by: 2) {
                let acked = pending[min(index, pending.count - 1)]
                let ack = acked.sequenceNumber &+ UInt32(acked.payload.count)
                next += h.send(seq: c &+ 11, ack: ack, flags: .ack, window: 4_000) // 4000 << 7 = 512000 bytes
            }
            received += next.flatMap { Array($0.payload) }
            if !next.isEmpty { last = next }
            pending = next
        }
        #expect(received == PatternStream.bytes(from: 0, count: 100_000))
        #expect(rounds <= 5)
        #expect(last.last?.flags.contains(.psh) == true)
    }

    @Test func peerWindowLimitsTheFlight() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        // Window 23 << 7 = 2944 bytes: two full segments and no runt.
        #expect(h.send(seq: c, ack: s, flags: .ack, window: 23).isEmpty)
        let flight = h.send(seq: c, ack: s, flags: [.psh, .ack], window: 23, payload: Array("get 10000\n".utf8))
        #expect(flight.map(\.payload.count) == [1_460, 1_460])
    }

    @Test func zeroWindowIsProbedUntilItOpens() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        #expect(h.send(seq: c, ack: s, flags: .ack, window: 0).isEmpty)
        let nothing = h.send(seq: c, ack: s, flags: [.psh, .ack], window: 0, payload: Array("get 3000\n".utf8))
        #expect(nothing.count == 1 && nothing[0].payload.isEmpty) // the ACK of the request only
        let c2 = c &+ 9
        // RTO is 200 ms after the 1 ms handshake sample: probes at 200, then 400, 800 ms later.
        #expect(h.tick(after: 199 * tcpMillisecond).isEmpty)
        let probe = h.tick(after: tcpMillisecond)
        #expect(probe.count == 1 && probe[0].sequenceNumber == s &- 1 && probe[0].payload.isEmpty)
        #expect(h.send(seq: c2, ack: s, flags: .ack, window: 0).isEmpty)
        #expect(h.tick(after: 399 * tcpMillisecond).isEmpty)
        #expect(h.tick(after: tcpMillisecond).count == 1)
        #expect(h.stack.statistics.persistProbes == 2)
        // The window opens: the data flows at once.
        let data = h.send(seq: c2, ack: s, flags: .ack, window: 502)
        #expect(data.map(\.payload.count) == [1_460, 1_460, 80])
        #expect(data.flatMap { Array($0.payload) } == PatternStream.bytes(from: 0, count: 3_000))
    }

    @Test func threeDuplicateAcksTriggerFastRetransmit() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        let flight = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("get 100000\n".utf8))
        #expect(flight.count == 10)
        let c2 = c &+ 11
        // The first segment was lost: the client acknowledges s for each of the next three.
        #expect(h.send(seq: c2, ack: s, flags: .ack).isEmpty)
        #expect(h.send(seq: c2, ack: s, flags: .ack).isEmpty)
        let third = h.send(seq: c2, ack: s, flags: .ack)
        try #require(third.count >= 1)
        #expect(third[0].sequenceNumber == s && Array(third[0].payload) == Array(flight[0].payload))
        #expect(h.stack.statistics.fastRetransmits == 1)
        // The hole filled: everything sent is acknowledged and recovery ends.
        let after = h.send(seq: c2, ack: s &+ 14_600, flags: .ack)
        #expect(after.first?.sequenceNumber == s &+ 14_600)
    }
}
