import Testing
import L2Wire
@testable import L2Guest

/// A download over a link that loses segments both ways, with a migration in the middle: a
/// minimal receiver (in-order only, an ACK per segment, window 64 KiB) and the injected clock.
/// Measured guest time for 300 KB: 0.5 s at 1 % loss, about 2 s at 5 %, 21 s at 20 %, 107 s at 30 %.
@Suite struct TCPLossyLinkTests {
    @Test(arguments: [(UInt64(1), 5), (2, 5), (3, 1), (4, 20), (5, 30)])
    func downloadSurvivesLossAndAMigration(seed: UInt64, lossPercent: Int) throws {
        var h = try TCPHarness()
        var random = GuestRandom(seed: seed)
        let size = 300_000 // then "bye\n" and the FIN
        let (c, s) = h.connect()
        var inbox = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("get \(size)\nquit\n".utf8))
        var received: [UInt8] = []
        var finSeen = false
        var migrated = false
        var steps = 0
        let start = h.now
        while !finSeen, steps < 100_000 {
            steps += 1
            if !migrated, received.count > size / 2 {
                // The migration: memory copied page by page, a fresh stack; the clock goes on.
                migrated = true
                let copy = try GuestMemory(pageCount: h.memory.pageCount)
                for page in 0..<h.memory.pageCount where !h.memory.isZeroPage(page) {
                    h.memory.withPage(page) { copy.storePage(page, from: $0) }
                }
                h.memory = copy
                h.stack = TCPStack(region: h.stack.region)
            }
            var replies: [TCPSegment] = []
            for segment in inbox where random.next(below: 100) >= lossPercent { // the server's segments lost
                let next = s &+ UInt32(received.count)
                if segment.sequenceNumber == next, !segment.payload.isEmpty {
                    received += segment.payload
                }
                if segment.flags.contains(.fin), segment.sequenceNumber &+ UInt32(segment.payload.count) == s &+ UInt32(received.count) {
                    finSeen = true
                }
                let ack = s &+ UInt32(received.count) &+ (finSeen ? 1 : 0)
                h.now += 100_000
                if random.next(below: 100) >= lossPercent { // the ACKs lost
                    replies += h.send(seq: c &+ UInt32(size.description.count + 10), ack: ack, flags: .ack, window: 512)
                }
            }
            inbox = replies
            if inbox.isEmpty { inbox = h.tick(after: 50 * tcpMillisecond) }
        }
        #expect(finSeen)
        #expect(received == PatternStream.bytes(from: 0, count: size) + Array("bye\n".utf8))
        #expect(migrated)
        #expect(h.now - start < 600 * tcpSecond)
    }
}
