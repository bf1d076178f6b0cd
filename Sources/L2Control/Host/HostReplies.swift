/// What `migrate-prepare` answers: where the destination listens for this migration.
public struct PrepareResult: Codable, Sendable, Equatable {
    public var listening: String
    public init(listening: String) { self.listening = listening }
}

/// What `migration-resolve` answers: the outcome in words.
public struct ResolveResult: Codable, Sendable, Equatable {
    public var outcome: String
    public init(outcome: String) { self.outcome = outcome }
}

/// What `datastore-probe` answers: whether the probe file is visible on this host.
public struct ProbeResult: Codable, Sendable, Equatable {
    public var present: Bool
    public init(present: Bool) { self.present = present }
}

/// What `vmotion-reach` answers: whether a ping from the vMotion interface got through.
public struct ReachResult: Codable, Sendable, Equatable {
    public var reached: Bool
    public init(reached: Bool) { self.reached = reached }
}
