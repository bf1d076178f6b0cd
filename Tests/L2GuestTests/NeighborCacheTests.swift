import L2Wire
import Testing
@testable import L2Guest

@Suite("NeighborCache: the guest's ARP/NDP cache in guest page 2")
struct NeighborCacheTests {
    let client = MACAddress(0x02, 0, 0, 0, 0, 0x64)

    @Test func learnsLooksUpAndMovesWithAPageCopy() throws {
        let memory = try GuestMemory(pageCount: 64)
        let v4 = IPAddress.v4(IPv4Address(10, 10, 0, 100))
        let v6 = IPAddress.v6(IPv6Address(high: 0xfd00_0010_0010_0000, low: 0x100))
        #expect(NeighborCache.lookup(v4, memory: memory) == nil)
        NeighborCache.learn(v4, mac: client, memory: memory)
        NeighborCache.learn(v6, mac: client, memory: memory)
        #expect(NeighborCache.lookup(v4, memory: memory) == client)
        #expect(NeighborCache.lookup(v6, memory: memory) == client)
        #expect(memory.dirty.isDirty(2), "the cache is guest memory: a migration carries it")
        // What a migration does: page by page into another VM's memory.
        let copy = try GuestMemory(pageCount: 64)
        for page in 0..<64 { memory.withPage(page) { copy.storePage(page, from: $0) } }
        #expect(NeighborCache.lookup(v4, memory: copy) == client)
    }

    @Test func rewritesOnlyNewsAndReplacesRoundRobinWhenFull() throws {
        let memory = try GuestMemory(pageCount: 64)
        let v4 = IPAddress.v4(IPv4Address(10, 10, 0, 100))
        NeighborCache.learn(v4, mac: client, memory: memory)
        _ = memory.dirty.takeAll()
        NeighborCache.learn(v4, mac: client, memory: memory)
        #expect(!memory.dirty.isDirty(2), "the same MAC again writes nothing")
        let moved = MACAddress(0x02, 0, 0, 0, 0, 0x65)
        NeighborCache.learn(v4, mac: moved, memory: memory)
        #expect(NeighborCache.lookup(v4, memory: memory) == moved)
        for host in 1...UInt32(NeighborCache.entries) {
            NeighborCache.learn(.v4(IPv4Address(rawValue: 0x0A0B_0000 | host)), mac: client, memory: memory)
        }
        #expect(NeighborCache.lookup(v4, memory: memory) == nil, "the oldest entry made room")
        #expect(NeighborCache.lookup(.v4(IPv4Address(rawValue: 0x0A0B_0000 | UInt32(NeighborCache.entries))), memory: memory) == client)
        #expect(NeighborCache.lookup(.v4(IPv4Address(rawValue: 0x0A0B_0001)), memory: memory) == client)
    }
}
