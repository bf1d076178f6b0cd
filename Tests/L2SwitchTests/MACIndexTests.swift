import L2Wire
import Testing
@testable import L2Switch

@Suite("MAC index and port map")
struct MACIndexTests {
    /// Random inserts, replacements and removals agree with `Dictionary` at every step, through
    /// growth and heavy churn (backward-shift deletion must not lose a displaced key).
    @Test func agreesWithDictionaryUnderChurn() {
        var index = MACIndex(initialCapacity: 4)
        var model: [UInt64: Int32] = [:]
        var random = SplitMix64(seed: 3)
        // A small key space forces long probe runs, collisions and wrap-around.
        for step in 0..<50_000 {
            let key = random.next() % 600
            switch random.next() % 3 {
            case 0, 1:
                index.set(key, Int32(step))
                model[key] = Int32(step)
            default:
                index.remove(key)
                model[key] = nil
            }
            if step % 1000 == 0 {
                for probe in 0..<UInt64(600) { #expect(index[probe] == model[probe], "key \(probe) at step \(step)") }
            }
        }
        #expect(index.count == model.count)
        for (key, value) in model { #expect(index[key] == value) }
        index.removeAll()
        #expect(index.count == 0)
        #expect(index[model.keys.first ?? 0] == nil)
    }

    @Test func portMapHandlesSmallLargeAndNegativeNumbers() {
        var map = PortMap()
        for (n, port) in [PortID(1), 4095, 4096, -3, 1_000_000, 0].enumerated() { map.set(port, n) }
        #expect(map[1] == 0)
        #expect(map[4095] == 1)
        #expect(map[4096] == 2)
        #expect(map[-3] == 3)
        #expect(map[1_000_000] == 4)
        #expect(map[0] == 5)
        #expect(map[2] == nil)
        #expect(map[4094] == nil)
        #expect(map[5000] == nil)
    }
}
