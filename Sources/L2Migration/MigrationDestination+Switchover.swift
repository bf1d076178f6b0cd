/// Switchover: the final round must end where the source says, and the digest of every stored page
/// must be the source's before the VM may resume here.
extension MigrationDestination {
    /// The switchover message: verified (the VM resumes) or refused (the copy is discarded).
    mutating func switchover(_ state: SwitchoverState) -> [DestinationAction] {
        guard let memory else { return [] }
        guard state.finalRound + 1 == expectedRound, state.finalRound >= 1, roundPages == 0, lanes.ahead.isEmpty,
              state.pageCount == UInt64(memory.pageCount) else {
            return protocolFailure(.inconsistent("switchover after round \(state.finalRound) for \(state.pageCount) pages; received \(expectedRound - 1) rounds for \(memory.pageCount) pages"))
        }
        let digest = runningDigest.value
        report.digest = digest
        guard digest == state.memoryDigest else {
            let reason = "memory digest \(digest) differs from the source's \(state.memoryDigest): the copy is not exact"
            return send(.verifyFailed(reason: reason)) + discard(reason)
        }
        phase = .resuming
        return send(.verified(digest: digest)) + [.resumeVM(state)]
    }

    /// The driver resumed the VM (after `.resumeVM`): tells the source, with this time.
    public mutating func resumed(now: UInt64) -> [DestinationAction] {
        guard phase == .resuming else { return [] }
        phase = .running
        report.resumedAt = now
        return send(.resumed(atNanoseconds: now))
    }

}
