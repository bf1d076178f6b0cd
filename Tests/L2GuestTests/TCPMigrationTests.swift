import Testing
import L2Wire
@testable import L2Guest

/// What a migration does to the TCP table: copies guest memory, nothing else.
@Suite struct TCPMigrationTests {
    /// Every page of `memory` into a new guest (as a migration destination stores them: unmarked).
    static func copy(_ memory: GuestMemory) throws -> GuestMemory {
        let copy = try GuestMemory(pageCount: memory.pageCount)
        for page in 0..<memory.pageCount where !memory.isZeroPage(page) {
            memory.withPage(page) { copy.storePage(page, from: $0) }
        }
        return copy
    }

    @Test func connectionContinuesExactlyOnACopyOfGuestMemory() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        // Mid-download, with data in flight and a partial request unread.
        let flight = h.send(seq: c, ack: s, flags: [.psh, .ack], payload: Array("get 50000\nhal".utf8))
        #expect(flight.count == 10)

        var moved = h
        moved.memory = try Self.copy(h.memory)
        moved.stack = TCPStack(region: h.stack.region) // a fresh stack on the destination
        #expect(moved.stack.connections(in: moved.memory) == h.stack.connections(in: h.memory))

        // The same segments and timers give the same bytes on both.
        for step in 0..<3 {
            let ack = s &+ UInt32(1_460 * 2 * (step + 1))
            let original = h.send(seq: c &+ 13, ack: ack, flags: .ack)
            let copied = moved.send(seq: c &+ 13, ack: ack, flags: .ack)
            #expect(original.map(\.bytes) == copied.map(\.bytes))
            #expect(!copied.isEmpty)
        }
        let rest = moved.send(seq: c &+ 13, ack: s, flags: [.psh, .ack], payload: Array("lo\n".utf8))
        #expect(rest == h.send(seq: c &+ 13, ack: s, flags: [.psh, .ack], payload: Array("lo\n".utf8)))
        #expect(moved.tick(after: 200 * tcpMillisecond) == h.tick(after: 200 * tcpMillisecond))
        #expect(moved.stack.connections(in: moved.memory) == h.stack.connections(in: h.memory))
    }

    @Test func isnKeyAndTimersMoveWithTheMemory() throws {
        var h = try TCPHarness()
        h.memory.storeUInt64(GuestLayout.bootMagic, at: 0)
        h.memory.storeUInt64(0x1234_5678, at: 8) // this VM's boot id
        let synAck = h.send(seq: 1_000, flags: .syn)
        var moved = h
        moved.memory = try Self.copy(h.memory)
        moved.stack = TCPStack(region: h.stack.region)
        // The SYN-ACK's retransmission deadline (guest clock) is in memory: both fire at 1 s.
        #expect(moved.tick(after: 999 * tcpMillisecond).isEmpty)
        let again = moved.tick(after: tcpMillisecond)
        #expect(again.map(\.bytes) == synAck.map(\.bytes))
        // A second connection's ISN depends on the key in memory, identical on both sides.
        h.now = moved.now
        #expect(moved.send(from: 40_002, seq: 5, flags: .syn) == h.send(from: 40_002, seq: 5, flags: .syn))
    }

    @Test func aRebootEmptiesTheTableButAMigrationDoesNot() throws {
        var h = try TCPHarness()
        h.memory.storeUInt64(GuestLayout.bootMagic, at: 0)
        h.memory.storeUInt64(1, at: 8)
        _ = h.connect()
        #expect(h.stack.connections(in: h.memory).count == 1)
        h.memory.storeUInt64(2, at: 8) // powered on again: a new boot id
        #expect(h.stack.connections(in: h.memory).isEmpty)
        let reset = h.send(seq: 1_001, ack: 5, flags: .ack)
        #expect(reset.map(\.flags) == [.rst])
        #expect(h.stack.connections(in: h.memory).isEmpty)
    }

    @Test func everyChangeMarksTheConnectionsPagesDirty() throws {
        var h = try TCPHarness()
        let (c, s) = h.connect()
        let region = h.stack.region
        _ = h.memory.dirty.takeAll()

        let segment = TCPSegment.build(source: h.client, destination: h.server, sourcePort: 40_000, destinationPort: 80,
                                       sequenceNumber: c, acknowledgmentNumber: s, flags: [.psh, .ack], window: 502,
                                       payload: Array("hello\n".utf8))
        let touched = h.stack.pages(touchedBy: try TCPSegment(segment), from: h.client, to: h.server, memory: h.memory)
        #expect(touched.first == region.tcpPages.lowerBound)
        #expect(touched.count == 1 + GuestLayout.tcpSlotPages)
        _ = h.deliver(segment)
        let dirty = h.memory.dirty.takeAll()
        let slotPages = Set(touched.dropFirst())
        let controlPage = touched[1]
        #expect(dirty.contains(controlPage))
        #expect(dirty.contains(controlPage + 1)) // the receive buffer took the request
        #expect(dirty.contains(controlPage + 5)) // the send ring holds the answer
        #expect(Set(dirty).isSubset(of: slotPages.union([region.tcpPages.lowerBound])))

        // The client's ACK of the answer changes the control block only.
        #expect(h.send(seq: c &+ 6, ack: s &+ 6, flags: .ack).isEmpty)
        #expect(h.memory.dirty.takeAll() == [controlPage])
        #expect(h.tick(after: tcpMillisecond).isEmpty)
        #expect(h.memory.dirty.takeAll().isEmpty) // timers that do not fire write nothing
    }

    @Test func synTouchesTheHeaderAndTheSlotItWillTake() throws {
        var h = try TCPHarness()
        let syn = try TCPSegment(TCPSegment.build(source: h.client, destination: h.server, sourcePort: 40_000,
                                                  destinationPort: 80, sequenceNumber: 1, flags: .syn, window: 1_000))
        let touched = h.stack.pages(touchedBy: syn, from: h.client, to: h.server, memory: h.memory)
        _ = h.memory.dirty.takeAll()
        _ = h.deliver(Array(syn.bytes))
        #expect(Set(h.memory.dirty.takeAll()).isSubset(of: Set(touched)))
    }
}
