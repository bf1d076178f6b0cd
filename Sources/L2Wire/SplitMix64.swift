/// SplitMix64: a seeded pseudo-random generator with one 64-bit word of state, the same sequence on
/// every platform and Swift version. The frame generator, the guest (whose workload must continue
/// from the same position after a migration, so its state serialises as one word) and the tests all
/// draw from it. Bounded draws use Lemire's multiply-shift on its own output, so no sequence depends
/// on the standard library's algorithm for `random(in:)`.
public struct SplitMix64: RandomNumberGenerator, Hashable, Sendable, Codable {
    /// The whole generator state; restoring it restores the exact position in the sequence.
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (`bound` > 0), nearly uniform (bias below 2^-32 for our bounds).
    @inline(__always)
    public mutating func next(below bound: Int) -> Int {
        precondition(bound > 0)
        return Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A value in `[0, 1)` with 53 random bits.
    @inline(__always)
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}
