import Benchmark
import L2Switch
import L2Wire

/// The MAC table's cost per operation as it grows from a thousand to a million entries: lookups of
/// known stations, refreshes (a known source seen again), and learning at a full table (each new
/// source evicts the least recently used entry of the fullest port). Flat cost means the per-operation
/// time stays the same across sizes.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal],
                                           scalingFactor: .kilo, maxDuration: .seconds(2), maxIterations: 10_000)
    for size in [1_000, 10_000, 100_000, 1_000_000] {
        Benchmark("lookup, \(size) entries") { benchmark, fixture in
            var found = 0
            for index in benchmark.scaledIterations {
                if fixture.table.lookup(fixture.macs[(index &* 7919) % size], at: fixture.now) != nil { found &+= 1 }
            }
            blackHole(found)
        } setup: {
            MACFixture(size: size)
        }

        Benchmark("refresh, \(size) entries") { benchmark, fixture in
            for index in benchmark.scaledIterations {
                let slot = (index &* 7919) % size
                blackHole(fixture.table.learn(fixture.macs[slot], on: PortID(slot % 8 + 1), at: fixture.now &+ UInt64(index)))
            }
        } setup: {
            MACFixture(size: size)
        }

        Benchmark("learn with eviction, full table of \(size)") { benchmark, fixture in
            for index in benchmark.scaledIterations {
                blackHole(fixture.table.learn(MACFixture.mac(0x10_0000_0000 &+ UInt64(index)), on: 1, at: fixture.now &+ UInt64(index)))
            }
        } setup: {
            MACFixture(size: size)
        }
    }
}

/// A full table of `size` stations spread over 8 ports, and their addresses. A class, so the
/// benchmarks mutate the one table in place (a struct copy would copy the whole table first).
final class MACFixture: @unchecked Sendable {
    var table: MACTable
    let macs: [MACAddress]
    let now: UInt64 = 1_000_000_000

    init(size: Int) {
        var table = MACTable(capacity: size)
        var macs: [MACAddress] = []
        macs.reserveCapacity(size)
        for index in 0..<size {
            let mac = Self.mac(UInt64(index) &* 0x9E37_79B9 & 0xFF_FFFF_FFFF)
            macs.append(mac)
            _ = table.learn(mac, on: PortID(index % 8 + 1), at: now)
        }
        self.table = table
        self.macs = macs
    }

    /// A locally administered unicast address from the low 40 bits of `value`.
    static func mac(_ value: UInt64) -> MACAddress { MACAddress(rawValue: 0x0200_0000_0000 | (value & 0xFF_FFFF_FFFF)) }
}
