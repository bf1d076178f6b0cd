import Testing
import L2Wire
@testable import L2Guest

/// A SYN as Linux 6.x sends it (`curl http://10.10.0.10/` from 10.10.0.100 port 40000): MSS 1460,
/// SACK permitted, timestamps, NOP, window scale 7; window 64240. Checksum computed independently.
let linuxSyn: [UInt8] = [
    0x9c, 0x40, 0x00, 0x50, 0x5f, 0x3a, 0x1c, 0x2e, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
    0x5a, 0x3c, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x9a, 0x1b, 0x2c, 0x3d,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
]

/// Our answer to `linuxSyn` in a zeroed 32768-page guest at guest time 5 s: MSS 1460, NOP, WS 0,
/// no SACK, no timestamps; window 16384 (the receive buffer). The ISS comes from the ISN key the
/// table derives from the (zero) boot record, plus 5 s / 4 µs. Checksum verified independently.
let goldenSynAck: [UInt8] = [
    0x00, 0x50, 0x9c, 0x40, 0x7a, 0xbd, 0x3b, 0x5b, 0x5f, 0x3a, 0x1c, 0x2f, 0x70, 0x12, 0x40, 0x00,
    0x61, 0x7b, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x00,
]

@Suite struct TCPHandshakeTests {
    @Test func linuxSynGetsTheGoldenSynAck() throws {
        var h = try TCPHarness()
        let replies = h.deliver(linuxSyn)
        try #require(replies.count == 1)
        #expect(Array(replies[0].bytes) == goldenSynAck)
        #expect(onesComplementSum(pseudoHeaderV4(TCPHarness.serverIP, TCPHarness.clientIP, length: goldenSynAck.count)
                                  + goldenSynAck) == 0xFFFF)
        #expect(h.summary()?.state == .synReceived)
        #expect(h.stack.statistics.connectionsOpened == 0)
    }

    @Test func handshakeCompletesAndIsListed() throws {
        var h = try TCPHarness()
        _ = h.connect()
        let summary = try #require(h.summary())
        #expect(summary.state == .established)
        #expect(summary.local == TCPHarness.serverIP && summary.localPort == 80)
        #expect(summary.remote == TCPHarness.clientIP && summary.remotePort == 40_000)
        #expect(h.stack.statistics.connectionsOpened == 1)
    }

    @Test func noWindowScaleOptionUnlessOffered() throws {
        var h = try TCPHarness()
        let replies = h.send(seq: 7, flags: .syn, options: [2, 4, 0x05, 0xB4])
        try #require(replies.count == 1)
        #expect(Array(replies[0].options) == [2, 4, 0x05, 0xB4])
    }

    @Test func ipv6SynAckAdvertisesMSS1440() throws {
        var h = try TCPHarness()
        h.client = .v6(IPv6Address(high: 0xFD00_0000_0000_0000, low: 0x100))
        h.server = .v6(IPv6Address(high: 0xFD00_0000_0000_0000, low: 0x10))
        let replies = h.send(seq: 7, flags: .syn, options: [2, 4, 0x05, 0xA0, 1, 3, 3, 7])
        try #require(replies.count == 1)
        #expect(Array(replies[0].options) == [2, 4, 0x05, 0xA0, 1, 3, 3, 0])
        let (clientNext, serverNext) = (UInt32(8), replies[0].sequenceNumber &+ 1)
        #expect(h.send(seq: clientNext, ack: serverNext, flags: .ack).isEmpty)
        let echo = h.send(seq: clientNext, ack: serverNext, flags: [.psh, .ack], payload: Array("ping\n".utf8))
        #expect(echo.count == 1 && Array(echo[0].payload) == Array("PING\n".utf8))
    }

    @Test func synToAPortWithoutServiceIsRefused() throws {
        var h = try TCPHarness()
        let replies = h.send(port: 81, seq: 500, flags: .syn)
        try #require(replies.count == 1)
        #expect(replies[0].flags == [.rst, .ack])
        #expect(replies[0].sequenceNumber == 0 && replies[0].acknowledgmentNumber == 501)
        #expect(h.stack.connections(in: h.memory).isEmpty)
        #expect(h.stack.statistics.connectionsRefused == 1)
    }

    @Test func ackForNoConnectionGetsResetAtItsAckNumber() throws {
        var h = try TCPHarness()
        let replies = h.send(seq: 500, ack: 777, flags: .ack)
        try #require(replies.count == 1)
        #expect(replies[0].flags == .rst && replies[0].sequenceNumber == 777)
        #expect(h.send(seq: 500, flags: .rst).isEmpty)
    }

    @Test func retransmittedSynGetsTheSameSynAck() throws {
        var h = try TCPHarness()
        let first = h.send(seq: 1_000, flags: .syn)
        h.now += 500 * tcpMillisecond
        let again = h.send(seq: 1_000, flags: .syn)
        try #require(first.count == 1 && again.count == 1)
        #expect(first[0].sequenceNumber == again[0].sequenceNumber)
        #expect(h.stack.connections(in: h.memory).count == 1)
    }

    @Test func synAckRetransmitsAfterOneSecondThenBacksOff() throws {
        var h = try TCPHarness()
        let synAck = h.send(seq: 1_000, flags: .syn)
        #expect(h.tick(after: 999 * tcpMillisecond).isEmpty)
        let first = h.tick(after: tcpMillisecond)
        #expect(first.map(\.flags) == [[.syn, .ack]] && first.first?.sequenceNumber == synAck.first?.sequenceNumber)
        #expect(h.tick(after: 1_999 * tcpMillisecond).isEmpty)
        #expect(h.tick(after: tcpMillisecond).count == 1) // 2 s after the first retransmission
        #expect(h.tick(after: 4 * tcpSecond).count == 1)
        #expect(h.tick(after: 8 * tcpSecond).count == 1)
        #expect(h.tick(after: 16 * tcpSecond).count == 1)
        #expect(h.tick(after: 32 * tcpSecond).isEmpty) // five retransmissions, then the slot is freed
        #expect(h.stack.connections(in: h.memory).isEmpty)
        #expect(h.stack.statistics.synAckTimeouts == 1)
    }

    @Test(arguments: [TCPFlags([.syn, .fin]), [.syn, .rst], [], [.fin, .psh, .urg]])
    func impossibleFlagsAreDroppedAndCounted(flags: TCPFlags) throws {
        var h = try TCPHarness()
        #expect(h.send(seq: 1, flags: flags).isEmpty)
        #expect(h.stack.statistics.droppedBadFlags == 1)
    }
}

func pseudoHeaderV4(_ source: IPAddress, _ destination: IPAddress, length: Int) -> [UInt8] {
    guard case let .v4(s) = source, case let .v4(d) = destination else { return [] }
    return s.bytes + d.bytes + [0, 6, UInt8(length >> 8), UInt8(length & 0xFF)]
}
