import Testing
import L2Wire
@testable import L2Guest

@Suite struct TCPCloseTests {
    @Test func clientFinIsAnsweredWithFinThenTheSlotIsFreed() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        let finAck = h.send(seq: c, ack: s, flags: [.fin, .ack])
        // The peer is done and nothing is left to answer: our ACK carries our FIN (LAST-ACK).
        try #require(finAck.count == 1)
        #expect(finAck[0].flags == [.fin, .ack] && finAck[0].acknowledgmentNumber == c &+ 1 && finAck[0].sequenceNumber == s)
        #expect(h.summary()?.state == .lastAck)
        #expect(h.send(seq: c &+ 1, ack: s &+ 1, flags: .ack).isEmpty)
        #expect(h.summary() == nil)
        #expect(h.stack.statistics.connectionsClosed == 1)
    }

    @Test func requestAndFinTogetherGetTheAnswerThenFin() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        let replies = h.send(seq: c, ack: s, flags: [.fin, .psh, .ack], payload: Array("hi\n".utf8))
        try #require(replies.count == 1)
        #expect(replies[0].flags == [.fin, .psh, .ack] && Array(replies[0].payload) == Array("HI\n".utf8))
        #expect(replies[0].acknowledgmentNumber == c &+ 4)
    }

    @Test func serviceCloseSendsFinAndTimeWaitExpiresAfterTwoSeconds() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        let bye = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("quit\n".utf8))
        try #require(bye.count == 1)
        #expect(bye[0].flags == [.fin, .psh, .ack] && Array(bye[0].payload) == Array("bye\n".utf8))
        #expect(h.summary()?.state == .finWait1)
        #expect(h.send(seq: c &+ 5, ack: s &+ 5, flags: .ack).isEmpty)
        #expect(h.summary()?.state == .finWait2)
        let last = h.send(seq: c &+ 5, ack: s &+ 5, flags: [.fin, .ack])
        #expect(last.count == 1 && last[0].flags == .ack && last[0].acknowledgmentNumber == c &+ 6)
        #expect(h.summary()?.state == .timeWait)
        // A retransmitted FIN (our ACK was lost) 1 s later is ACKed again and restarts 2×MSL.
        #expect(h.tick(after: tcpSecond).isEmpty)
        let again = h.send(seq: c &+ 5, ack: s &+ 5, flags: [.fin, .ack])
        #expect(again.count == 1 && again[0].acknowledgmentNumber == c &+ 6)
        #expect(h.tick(after: 1_999 * tcpMillisecond).isEmpty)
        #expect(h.summary()?.state == .timeWait)
        _ = h.tick(after: tcpMillisecond)
        #expect(h.summary() == nil)
    }

    @Test func inputAfterTheServiceClosedIsAcknowledgedAndDiscarded() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        // A pipelined request after `quit` is never read; the window stays open.
        let bye = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("quit\nhello\n".utf8))
        #expect(bye.count == 1 && bye[0].flags == [.fin, .psh, .ack] && bye[0].window == UInt16(16_384))
        let more = h.send(seq: c &+ 11, ack: s &+ 5, flags: [.psh, .ack], payload: Array("again\n".utf8))
        #expect(more.count == 1 && more[0].payload.isEmpty && more[0].acknowledgmentNumber == c &+ 17)
        #expect(more[0].window == UInt16(16_384))
        #expect(h.summary()?.state == .finWait2)
    }

    @Test func simultaneousCloseGoesThroughClosing() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        _ = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("quit\n".utf8)) // our FIN at s+4
        let ack = h.send(seq: c &+ 5, ack: s &+ 4, flags: [.fin, .ack]) // theirs crosses it
        #expect(ack.count == 1 && ack[0].acknowledgmentNumber == c &+ 6)
        #expect(h.summary()?.state == .closing)
        #expect(h.send(seq: c &+ 6, ack: s &+ 5, flags: .ack).isEmpty)
        #expect(h.summary()?.state == .timeWait)
    }

    @Test func lostFinIsRetransmitted() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        _ = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("quit\n".utf8))
        #expect(h.send(seq: c &+ 5, ack: s &+ 4, flags: .ack).isEmpty) // data acked, FIN lost
        let fin = h.tick(after: 200 * tcpMillisecond)
        #expect(fin.count == 1 && fin[0].flags == [.fin, .ack] && fin[0].sequenceNumber == s &+ 4 && fin[0].payload.isEmpty)
    }

    @Test func newSynEndsTimeWaitOnTheSameFourTuple() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        _ = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("quit\n".utf8))
        _ = h.send(seq: c &+ 5, ack: s &+ 5, flags: [.fin, .ack])
        #expect(h.summary()?.state == .timeWait)
        let synAck = h.send(seq: c &+ 100_000, flags: .syn)
        #expect(synAck.count == 1 && synAck[0].flags == [.syn, .ack])
        #expect(h.summary()?.state == .synReceived)
        #expect(h.stack.statistics.timeWaitRecycled == 1)
    }

    @Test func exactResetClosesAndInexactResetIsChallenged() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        let challenge = h.send(seq: c &+ 10, flags: .rst)
        #expect(challenge.count == 1 && challenge[0].flags == .ack && challenge[0].acknowledgmentNumber == c)
        #expect(h.stack.statistics.challengeAcks == 1)
        #expect(h.send(seq: c &+ 70_000, flags: .rst).isEmpty) // outside the window: silently dropped
        #expect(h.summary()?.state == .established)
        #expect(h.send(seq: c, flags: .rst).isEmpty)
        #expect(h.summary() == nil)
        #expect(h.stack.statistics.resetsReceived == 1)
        _ = s
    }

    @Test func synOnAnEstablishedConnectionGetsAChallengeAck() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        let replies = h.send(seq: c &+ 5, flags: .syn)
        #expect(replies.count == 1 && replies[0].flags == .ack && replies[0].sequenceNumber == s)
        #expect(h.summary()?.state == .established)
    }

    @Test func segmentWithoutAckIsDroppedInSynchronizedStates() throws {
        var h = try TCPHarness()
        let (c, _) = h.connect()
        #expect(h.send(seq: c, flags: .psh, payload: Array("x\n".utf8)).isEmpty)
        #expect(h.stack.statistics.droppedBadFlags == 1)
        #expect(h.summary()?.bytesIn == 0)
    }
}
