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

    /// The driver's answer to `.confirmSwitchover`: nil `refusal` confirms (with what was checked, in
    /// `detail`); a refusal tells the source why and discards the copy (the VM stays on the source).
    public mutating func switchoverReadiness(refusal: String?, detail: String, now: UInt64) -> [DestinationAction] {
        guard phase == .receiving, !confirmedSwitchover else { return [] }
        if let refusal {
            return send(.switchoverRefused(reason: refusal)) + discard("switchover refused: \(refusal)")
        }
        confirmedSwitchover = true
        report.switchoverAck = detail
        return send(.switchoverReady(detail: detail))
    }

    /// The driver resumed the VM (after `.resumeVM`): tells the source, with this time, when the
    /// switchover arrived and `verifiedAt` (when the driver took the verified copy; default `now`).
    public mutating func resumed(now: UInt64, verifiedAt: UInt64? = nil) -> [DestinationAction] {
        guard phase == .resuming else { return [] }
        phase = postcopy == nil ? .running : .postcopyActive
        report.resumedAt = now
        let arrived = switchoverArrivedAt ?? now
        let told = send(.resumed(atNanoseconds: now, arrivedAtNanoseconds: arrived,
                                 verifiedAtNanoseconds: min(max(verifiedAt ?? now, arrived), now)))
        if let end = postcopy?.heldEnd {
            postcopy?.heldEnd = nil
            return told + endPostcopy(pages: end.pages, digest: end.digest, now: now)
        }
        return told
    }

}
