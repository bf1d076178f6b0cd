import L2Control

/// Work that runs over whichever pump `PumpSetup` picks. Generic, so each kind of pump gets its own
/// specialised copy of the work (the plain pump's loop pays nothing for the wrapper).
protocol PumpUser {
    associatedtype Outcome
    mutating func use<Pump: MigrationPump>(_ pump: inout Pump) -> Outcome
}

/// The one place that decides whether a migration's stream injects faults.
enum PumpSetup {
    /// Runs `user` over `base` itself without a fault plan, or over a `FaultInjectingPump` wrapping it
    /// with one.
    static func run<Base: DamageablePump, User: PumpUser>(over base: Base, fault: FaultPlan?,
                                                          hooks: @autoclosure () -> FaultHooks,
                                                          _ user: inout User) -> User.Outcome {
        guard let fault else {
            var plain = base
            return user.use(&plain)
        }
        var faulty = FaultInjectingPump(wrapping: base, plan: fault, hooks: hooks())
        return user.use(&faulty)
    }
}
