/// What the source's driver must do, in order. Send actions carry whole messages.
public enum SourceAction: Sendable, Equatable {
    /// Write these bytes to the migration connection.
    case send([UInt8])
    /// Stop the VM's vCPUs and workload now, then call `stunned(…)`.
    case stun
    /// Slow the workload to (100 − percent) % of its speed; 0 removes the throttle.
    case throttle(percent: Int)
    /// The migration failed before the VM left: make sure it runs on the source (unstun if stunned).
    case resumeSource(reason: String)
    /// The destination runs the VM and the copy is proved: drop the source's copy.
    case releaseSource
    /// The outcome is ambiguous: keep the VM stunned and ask the coordinator.
    case awaitCoordinator(reason: String)
    /// Post-copy: the link failed after the destination resumed the VM. Keep the frozen memory and
    /// wait for a recovery (the VM cannot run here again).
    case postcopyPaused(reason: String)
    case completed(MigrationResult)
    case failed(MigrationResult)
}

/// Where a migration source is.
public enum SourcePhase: String, Sendable, Equatable {
    case idle, setup, precopy
    /// The policy chose to switch over; waiting for the destination's switchover-ack (the VM runs).
    case awaitingAck = "switchover-ack"
    case stunning, switchover, completed, failed, awaitingCoordinator
    /// Post-copy: the VM resumed (or is resuming) on the destination; the pages it lacks go out,
    /// requested ones first.
    case postcopy = "postcopy-active"
    /// Post-copy: the link failed after the destination resumed; the source keeps the frozen memory
    /// and waits for the migration to recover.
    case postcopyPaused = "postcopy-paused"
    /// Post-copy: a new connection is open and the destination has not yet said what it lacks.
    case postcopyRecovering = "postcopy-recover"
}

