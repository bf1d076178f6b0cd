import L2Wire
import Testing
@testable import L2Switch

@Suite("MAC table")
struct MACTableTests {
    @Test func learnsThenRefreshes() {
        var table = MACTable()
        #expect(table.learn(mac(1), on: 1, at: 0) == .learned(evicted: nil))
        #expect(table.learn(mac(1), on: 1, at: 5 * second) == .refreshed)
        let entry = table.lookup(mac(1), at: 6 * second)
        #expect(entry?.port == 1)
        #expect(entry?.learnedAt == 0)
        #expect(entry?.lastSeen == 5 * second)
        #expect(entry?.age(at: 6 * second) == second)
        #expect(entry?.moves == 0)
        #expect(table.lookup(mac(2), at: 6 * second) == nil)
        #expect(table.count == 1)
        #expect(table.invariantViolation() == nil)
    }

    @Test func movesOnTheFirstFrameFromANewPort() {
        var table = MACTable()
        _ = table.learn(vm, on: 2, at: 0)
        // No hold-down: the very next frame, a millisecond later, moves it.
        #expect(table.learn(vm, on: 3, at: millisecond) == .moved(from: 2, to: 3))
        #expect(table.lookup(vm, at: millisecond)?.port == 3)
        #expect(table.lookup(vm, at: millisecond)?.moves == 1)
        #expect(table.learn(vm, on: 2, at: 2 * millisecond) == .moved(from: 3, to: 2))
        #expect(table.lookup(vm, at: 2 * millisecond)?.moves == 2)
        #expect(table.count(on: 2) == 1)
        #expect(table.count(on: 3) == 0)
        #expect(table.statistics.moved == 2)
        #expect(table.invariantViolation() == nil)
    }

    @Test func neverLearnsMulticastBroadcastOrZero() {
        var table = MACTable()
        #expect(table.learn(.broadcast, on: 1, at: 0) == .ignored)
        #expect(table.learn(MACAddress(0x01, 0x00, 0x5e, 0x00, 0x00, 0x01), on: 1, at: 0) == .ignored)
        #expect(table.learn(MACAddress(0x33, 0x33, 0x00, 0x00, 0x00, 0x01), on: 1, at: 0) == .ignored)
        #expect(table.learn(.zero, on: 1, at: 0) == .ignored)
        #expect(table.count == 0)
        #expect(table.statistics.ignored == 4)
    }

    @Test func agesOutJustAfterTheLimitNotBefore() {
        let aging = 300 * second
        var table = MACTable()
        #expect(table.agingTime == aging)
        _ = table.learn(mac(1), on: 1, at: 10 * second)
        #expect(table.lookup(mac(1), at: 10 * second + aging - 1) != nil)
        #expect(table.lookup(mac(1), at: 10 * second + aging) != nil)  // exactly the limit: still valid
        #expect(table.entry(for: mac(1), at: 10 * second + aging + 1) == nil)
        #expect(table.count == 1)  // `entry(for:at:)` changes nothing
        #expect(table.lookup(mac(1), at: 10 * second + aging + 1) == nil)
        #expect(table.count == 0)  // lazily removed
        #expect(table.statistics.expired == 1)
    }

    @Test func refreshingKeepsAnEntryAlive() {
        var table = MACTable(capacity: 16, agingTime: 10 * second)
        _ = table.learn(mac(1), on: 1, at: 0)
        _ = table.learn(mac(1), on: 1, at: 9 * second)
        #expect(table.lookup(mac(1), at: 19 * second) != nil)
        #expect(table.lookup(mac(1), at: 19 * second + 1) == nil)
    }

    @Test func relearningAnExpiredEntryIsANewLearnNotAMove() {
        var table = MACTable(capacity: 16, agingTime: 10 * second)
        _ = table.learn(mac(1), on: 1, at: 0)
        _ = table.learn(mac(1), on: 1, at: 0)
        #expect(table.learn(mac(1), on: 2, at: 11 * second) == .learned(evicted: nil))
        #expect(table.lookup(mac(1), at: 11 * second)?.learnedAt == 11 * second)
        #expect(table.lookup(mac(1), at: 11 * second)?.moves == 0)
    }

    @Test func expireSweepRemovesExactlyTheIdleEntries() {
        var table = MACTable(capacity: 100, agingTime: 10 * second)
        for n in 0..<10 { _ = table.learn(mac(n), on: PortID(n % 3), at: UInt64(n) * second) }
        // At t = 15 s, entries seen at 0...4 s are idle > 10 s; 5 s is exactly 10 s: kept.
        let removed = table.expire(now: 15 * second)
        #expect(Set(removed.map(\.mac)) == Set((0..<5).map(mac)))
        #expect(table.count == 5)
        #expect(table.expire(now: 15 * second).isEmpty)
        #expect(table.entries(at: 15 * second).map(\.mac).sorted() == (5..<10).map(mac))
        #expect(table.statistics.expired == 5)
        #expect(table.invariantViolation() == nil)
    }

    @Test func entriesForDisplayAreSortedAndSkipExpired() {
        var table = MACTable(capacity: 100, agingTime: 10 * second)
        _ = table.learn(mac(9), on: 1, at: 0)
        _ = table.learn(mac(3), on: 2, at: 5 * second)
        _ = table.learn(mac(1), on: 2, at: 5 * second)
        _ = table.learn(mac(2), on: 1, at: 5 * second)
        let rows = table.entries(at: 12 * second)
        #expect(rows.map(\.mac) == [mac(2), mac(1), mac(3)])
        #expect(rows.map(\.port) == [1, 2, 2])
        #expect(rows.map { $0.age(at: 12 * second) } == [7 * second, 7 * second, 7 * second])
    }

    @Test func fullTableEvictsFromThePortWithTheMostMACs() {
        var table = MACTable(capacity: 4)
        _ = table.learn(mac(1), on: 1, at: 1)
        _ = table.learn(mac(2), on: 2, at: 2)
        _ = table.learn(mac(3), on: 2, at: 3)
        _ = table.learn(mac(4), on: 1, at: 4)
        _ = table.learn(mac(2), on: 2, at: 5)  // refresh: mac(3) is now port 2's LRU
        // Port 1 and 2 hold two each; tie goes to the port whose LRU is oldest: port 1 (mac 1 at t=1).
        guard case let .learned(evicted?) = table.learn(mac(5), on: 3, at: 6) else {
            Issue.record("expected an eviction")
            return
        }
        #expect(evicted.mac == mac(1))
        #expect(evicted.port == 1)
        // Port 2 now holds the most: its least recently seen entry (mac 3) goes next.
        guard case let .learned(evicted?) = table.learn(mac(6), on: 3, at: 7) else {
            Issue.record("expected an eviction")
            return
        }
        #expect(evicted.mac == mac(3))
        #expect(table.count == 4)
        #expect(table.statistics.evicted == 2)
        #expect(table.invariantViolation() == nil)
    }

    @Test func fullTableReclaimsAnExpiredEntryBeforeEvicting() {
        var table = MACTable(capacity: 3, agingTime: 10 * second)
        _ = table.learn(mac(1), on: 1, at: 0)  // will be expired
        _ = table.learn(mac(2), on: 2, at: 8 * second)
        _ = table.learn(mac(3), on: 2, at: 8 * second)
        #expect(table.learn(mac(4), on: 3, at: 11 * second) == .learned(evicted: nil))
        #expect(table.lookup(mac(2), at: 11 * second) != nil)
        #expect(table.lookup(mac(3), at: 11 * second) != nil)
        #expect(table.statistics.expired == 1)
        #expect(table.statistics.evicted == 0)
    }

    /// Port 1 floods 10,000 random source MACs into a table of 100 while ports 2 and 3 hold a few
    /// stations that talk now and then: the flood only ever evicts port 1's own entries.
    @Test func aFloodingPortCannotPushOutTheOthers() {
        var table = MACTable(capacity: 100)
        var random = SplitMix64(seed: 42)
        let steady: [(MACAddress, PortID)] = [(mac(21), 2), (mac(22), 2), (mac(23), 2), (mac(31), 3), (mac(32), 3)]
        var now: UInt64 = 0
        for (station, port) in steady { _ = table.learn(station, on: port, at: now) }
        for n in 0..<10_000 {
            now += 100_000  // 10,000 frames/s
            if case let .learned(evicted?) = table.learn(randomMAC(&random), on: 1, at: now) {
                #expect(evicted.port == 1, "evicted \(evicted) at frame \(n)")
            }
            if n % 500 == 0 {
                for (station, port) in steady { _ = table.learn(station, on: port, at: now) }
            }
            #expect(table.count <= 100)
        }
        for (station, port) in steady {
            #expect(table.lookup(station, at: now)?.port == port)
        }
        #expect(table.count == 100)
        #expect(table.count(on: 1) == 95)
        #expect(table.count(on: 2) == 3)
        #expect(table.count(on: 3) == 2)
        #expect(table.invariantViolation() == nil)
    }

    @Test func flushAllAndPerPort() {
        var table = MACTable()
        for n in 0..<6 { _ = table.learn(mac(n), on: PortID(n % 2), at: 0) }
        #expect(table.flush(port: 1) == 3)
        #expect(table.count(on: 1) == 0)
        #expect(table.count(on: 0) == 3)
        #expect(table.lookup(mac(1), at: 0) == nil)
        #expect(table.lookup(mac(0), at: 0) != nil)
        #expect(table.flush(port: 7) == 0)
        #expect(table.flush() == 3)
        #expect(table.count == 0)
        // The table works normally after a flush.
        #expect(table.learn(mac(0), on: 1, at: 1) == .learned(evicted: nil))
        #expect(table.invariantViolation() == nil)
    }

    @Test func slotsAreReusedAfterRemoval() {
        var table = MACTable(capacity: 8, agingTime: second)
        for round in 0..<50 {
            let now = UInt64(round) * 2 * second
            for n in 0..<8 { _ = table.learn(mac(round * 8 + n), on: PortID(n % 3), at: now) }
        }
        #expect(table.slots.count == 8)
        #expect(table.count == 8)
        #expect(table.invariantViolation() == nil)
    }

    /// A clock that steps back must not break LRU order.
    @Test func aClockThatStepsBackKeepsOrder() {
        var table = MACTable(capacity: 3)
        _ = table.learn(mac(1), on: 1, at: 10 * second)
        _ = table.learn(mac(2), on: 1, at: 5 * second)
        _ = table.learn(mac(3), on: 1, at: 7 * second)
        #expect(table.invariantViolation() == nil)
        guard case let .learned(evicted?) = table.learn(mac(4), on: 1, at: 11 * second) else {
            Issue.record("expected an eviction")
            return
        }
        #expect(evicted.mac == mac(1))
    }

    /// Configured for a million entries and churned well past capacity: stays consistent and quick
    /// (a per-frame scan of entries would take minutes here).
    @Test func largeTableStaysConsistent() {
        var table = MACTable(capacity: 1_000_000)
        var random = SplitMix64(seed: 7)
        var now: UInt64 = 0
        for n in 0..<50_000 {
            now += 1000
            _ = table.learn(randomMAC(&random), on: PortID(n % 4), at: now)
        }
        var small = MACTable(capacity: 20_000)
        for n in 0..<60_000 {
            now += 1000
            _ = small.learn(randomMAC(&random), on: PortID(n % 7 == 0 ? 1 : 2), at: now)
        }
        #expect(table.count == 50_000)
        #expect(small.count == 20_000)
        #expect(small.statistics.evicted == 40_000)
        #expect(table.invariantViolation() == nil)
        #expect(small.invariantViolation() == nil)
    }
}
