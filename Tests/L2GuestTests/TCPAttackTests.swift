import Testing
import L2Wire
@testable import L2Guest

@Suite struct TCPAttackTests {
    @Test func synFloodOfFiveThousandLeavesRoomForALegitimateClient() throws {
        var h = try TCPHarness()
        let established = h.connect(from: 50_000)
        let slots = h.stack.region.tcpSlots
        for n in 0..<5_000 {
            h.client = .v4(IPv4Address(rawValue: 0xC633_6400 + UInt32(n % 200))) // 198.51.100.x
            h.now += 10_000
            #expect(h.send(from: UInt16(1_024 + n), seq: UInt32(n) &* 7_919, flags: .syn).count == 1)
        }
        h.client = TCPHarness.clientIP
        #expect(h.stack.statistics.synEvicted == UInt64(5_000 - (slots - 1)))
        #expect(h.stack.connections(in: h.memory).count == slots)
        // The established connection still works, and a new client gets in.
        let echo = h.send(from: 50_000, seq: established.client, ack: established.server, flags: [.psh, .ack],
                          payload: Array("still\n".utf8))
        #expect(echo.count == 1 && Array(echo[0].payload) == Array("STILL\n".utf8))
        let fresh = h.connect(from: 40_001)
        let reply = h.send(from: 40_001, seq: fresh.client, ack: fresh.server, flags: [.psh, .ack], payload: Array("new\n".utf8))
        #expect(reply.count == 1 && Array(reply[0].payload) == Array("NEW\n".utf8))
    }

    @Test func synWhenEverySlotIsEstablishedIsDropped() throws {
        var h = try TCPHarness(pageCount: 8_192) // a small VM: few slots
        let slots = h.stack.region.tcpSlots
        for port in 0..<slots { _ = h.connect(from: UInt16(20_000 + port)) }
        #expect(h.send(from: 30_000, seq: 1, flags: .syn).isEmpty)
        #expect(h.stack.statistics.droppedTableFull == 1)
    }

    @Test func slowlorisIsResetAfterSixtySecondsWithoutProgress() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        _ = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("GET / HTTP/1.1".utf8))
        #expect(h.tick(after: 59 * tcpSecond).isEmpty)
        let reset = h.tick(after: tcpSecond)
        #expect(reset.count == 1 && reset[0].flags == .rst)
        #expect(h.summary() == nil)
        #expect(h.stack.statistics.idleResets == 1)
    }

    @Test func idleConnectionWithoutInputSurvivesAMinute() throws {
        var h = try TCPHarness()
        _ = h.connect()
        #expect(h.tick(after: 120 * tcpSecond).isEmpty)
        #expect(h.summary()?.state == .established)
    }

    @Test func serviceWaitingOnAFullBufferIsReset() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect(port: 9)
        var seq = c
        var resets = 0
        while seq &- c < 16_384 {
            let replies = h.send(port: 9, seq: seq, ack: s, flags: .ack, payload: Array(repeating: 0x41, count: 1_460))
            resets += replies.filter { $0.flags.contains(.rst) }.count
            seq = seq &+ 1_460
        }
        #expect(resets == 1)
        #expect(h.stack.statistics.serviceResets == 1)
        #expect(h.stack.connections(in: h.memory).isEmpty)
    }

    @Test func randomSegmentsNeverTrapAndKeepTheTableConsistent() throws {
        var h = try TCPHarness(pageCount: 8_192)
        var random = GuestRandom(seed: 20)
        let flagsChoices: [TCPFlags] = [.syn, .ack, [.psh, .ack], [.fin, .ack], .rst, [.rst, .ack], [.syn, .ack], .fin]
        for _ in 0..<20_000 {
            let port = UInt16(40_000 + random.next(below: 8))
            let flags = flagsChoices[random.next(below: flagsChoices.count)]
            let payload = (0..<random.next(below: 40)).map { _ in UInt8(truncatingIfNeeded: random.next()) } + [0x0A]
            let seq = random.next(below: 4) == 0 ? UInt32(truncatingIfNeeded: random.next()) : UInt32(1_000 + random.next(below: 200))
            let ack = UInt32(truncatingIfNeeded: random.next())
            _ = h.send(port: [7, 80, 9, 81][random.next(below: 4)], from: port, seq: seq, ack: ack, flags: flags,
                       window: UInt16(truncatingIfNeeded: random.next()), payload: payload)
            if random.next(below: 10) == 0 { _ = h.tick(after: UInt64(random.next(below: 3_000)) * tcpMillisecond) }
        }
        for summary in h.stack.connections(in: h.memory) { #expect(summary.state != .closed) }
    }
}
