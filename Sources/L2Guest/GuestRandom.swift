import L2Wire

/// The guest's deterministic pseudo-random generator: SplitMix64, one 64-bit word of state, so it
/// serialises trivially and a migrated workload continues from the same position on the destination.
/// The state machine never uses `SystemRandomNumberGenerator`; every random choice comes from here,
/// seeded from the VM configuration.
public typealias GuestRandom = SplitMix64
