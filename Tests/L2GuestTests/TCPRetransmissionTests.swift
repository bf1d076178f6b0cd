import Testing
import L2Wire
@testable import L2Guest

@Suite struct TCPRetransmissionTests {
    @Test func lostReplyIsResentAfterTheMeasuredRTOWithBackoff() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect(rtt: tcpMillisecond) // one 1 ms sample: RTO = max(200 ms, 1 ms + 4 × 0.5 ms)
        let reply = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("hello\n".utf8))
        try #require(reply.count == 1)
        #expect(h.stack.nextDeadline(in: h.memory) == h.now + 200 * tcpMillisecond)
        #expect(h.tick(after: 199 * tcpMillisecond).isEmpty)
        let first = h.tick(after: tcpMillisecond)
        #expect(first.count == 1 && first[0].sequenceNumber == s && Array(first[0].payload) == Array(reply[0].payload))
        #expect(h.tick(after: 399 * tcpMillisecond).isEmpty)
        #expect(h.tick(after: tcpMillisecond).count == 1) // doubled: 400 ms
        #expect(h.tick(after: 799 * tcpMillisecond).isEmpty)
        #expect(h.tick(after: tcpMillisecond).count == 1) // 800 ms
        #expect(h.stack.statistics.timeouts == 3 && h.stack.statistics.retransmissions == 3)
        // The ACK arrives: no more retransmissions, and (Karn) no sample from the resent segment.
        #expect(h.send(seq: c &+ 6, ack: s &+ 6, flags: .ack).isEmpty)
        #expect(h.tick(after: 60 * tcpSecond).isEmpty)
    }

    @Test func withoutASampleTheFirstDataRTOIsOneSecond() throws {
        var h = try TCPHarness()
        // The SYN-ACK is retransmitted once, so the handshake gives no sample (Karn's rule); the
        // handshake's ACK ends the backoff, so the data's RTO is the initial 1 s, then 2 s.
        let synAck = h.send(seq: 1_000, flags: .syn, options: [2, 4, 0x05, 0xB4])
        #expect(h.tick(after: tcpSecond).count == 1)
        let s = synAck[0].sequenceNumber &+ 1
        #expect(h.send(seq: 1_001, ack: s, flags: .ack).isEmpty)
        _ = h.send(seq: 1_001, ack: s, flags: [.psh, .ack], payload: Array("a\n".utf8))
        #expect(h.tick(after: 999 * tcpMillisecond).isEmpty)
        #expect(h.tick(after: tcpMillisecond).count == 1)
        #expect(h.tick(after: 1_999 * tcpMillisecond).isEmpty)
        #expect(h.tick(after: tcpMillisecond).count == 1)
    }

    @Test func rtoSettlesOnTheLinuxFloorAfterSamples() throws {
        var h = try TCPHarness()
        var (c, s) = h.connect(rtt: 300 * tcpMillisecond)
        // srtt 300 ms, rttvar 150 ms: RTO 900 ms. Ten 1 ms exchanges bring it to the 200 ms floor.
        for _ in 0..<20 {
            _ = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("a\n".utf8))
            h.now += tcpMillisecond
            #expect(h.send(seq: c &+ 2, ack: s &+ 2, flags: .ack).isEmpty)
            c = c &+ 2
            s = s &+ 2
        }
        _ = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("a\n".utf8))
        #expect(h.tick(after: 199 * tcpMillisecond).isEmpty)
        #expect(h.tick(after: tcpMillisecond).count == 1)
    }

    @Test func lostTailOfADownloadIsResentFromSndUna() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        let flight = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("get 5000\n".utf8))
        #expect(flight.map(\.payload.count) == [1_460, 1_460, 1_460, 620])
        // Only the first two arrived.
        #expect(h.send(seq: c &+ 9, ack: s &+ 2_920, flags: .ack).count == 0)
        let resent = h.tick(after: 200 * tcpMillisecond)
        #expect(resent.count == 1 && resent[0].sequenceNumber == s &+ 2_920 && resent[0].payload.count == 1_460)
        // Slow start from one segment: the ACK lets two more go (the rest).
        let rest = h.send(seq: c &+ 9, ack: s &+ 4_380, flags: .ack)
        #expect(rest.map(\.sequenceNumber) == [s &+ 4_380])
        #expect(rest.flatMap { Array($0.payload) } == PatternStream.bytes(from: 4_380, count: 620))
    }
}
