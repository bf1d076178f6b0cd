/// What the destination's driver must do, in order.
public enum DestinationAction: Sendable, Equatable {
    /// Write these bytes to the migration connection.
    case send([UInt8])
    /// Create zero-filled memory for the VM (`GuestMemory(bytes:)`), then call `memoryAllocated` (or
    /// `memoryAllocationFailed`).
    case allocateMemory(MigrationSpec)
    /// switchover-ack: the source is about to stun. Check that the VM could resume here at once (port
    /// group present, uplink up, memory in place), then call `switchoverReadiness(refusal:detail:now:)`.
    case confirmSwitchover
    /// The copy is proved: attach the VM to its port group, load this state, deliver the queued frames,
    /// run it, then call `resumed(now:)`.
    case resumeVM(SwitchoverState)
    /// Post-copy: run the VM here now with `missingPages` pages still to come (`isMissing`): a vCPU,
    /// the workload or the network responder that touches one waits for it (`pageFault`, then
    /// `.pagesArrived`). Then call `resumed(now:)`.
    case resumeVMPostcopy(SwitchoverState, missingPages: Int)
    /// Post-copy: these pages arrived; what waited on them may go on.
    case pagesArrived([Int])
    /// Post-copy: the link failed after the resume; pause the VM here (it cannot run on the source
    /// again) until the migration recovers.
    case pauseVM(reason: String)
    /// Post-copy: the migration recovered over a new connection; the paused VM runs on.
    case unpauseVM
    /// A frame the source forwarded for the running VM.
    case deliverFrame([UInt8])
    /// Free everything this migration created; the VM stays (or goes back) to the source.
    case discard(reason: String)
    /// The VM runs here but the source has not committed: keep it running and ask the coordinator.
    case awaitCoordinator(reason: String)
    /// The source committed: the VM is this host's now.
    case completed(DestinationReport)
}

/// Where a migration destination is.
public enum DestinationPhase: String, Sendable, Equatable {
    case awaitingHello, awaitingSpec, allocating, receiving, resuming, running, committed, discarded, awaitingCoordinator
    /// Post-copy: the VM runs here while missing pages arrive.
    case postcopyActive = "postcopy-active"
    /// Post-copy: the link failed; the VM is paused here until the migration recovers.
    case postcopyPaused = "postcopy-paused"
}

/// What the destination received.
public struct DestinationReport: Codable, Sendable, Equatable {
    public var vmName: String
    public var pagesReceived: Int
    public var zeroPages: Int
    public var normalPages: Int
    public var bytesReceived: Int
    public var rounds: Int
    public var digest: UInt64
    /// The resume time the destination reported (ns).
    public var resumedAt: UInt64?
    /// The stream's protection as negotiated (`"aes-256-gcm"` or `"none"`); nil before the hello was accepted.
    public var encryption: MigrationStreamCipher?
    /// What this host checked when it confirmed the switchover (switchover-ack); nil before.
    public var switchoverAck: String?
    /// Post-copy's figures on this side (faults, their wait, duplicates); nil for pre-copy.
    public var postcopy: PostcopyStats?

    enum CodingKeys: String, CodingKey {
        case vmName = "vm-name", pagesReceived = "pages-received", zeroPages = "zero-pages",
             normalPages = "normal-pages", bytesReceived = "bytes-received", rounds, digest,
             resumedAt = "resumed-at", encryption, switchoverAck = "switchover-ack", postcopy
    }
}
