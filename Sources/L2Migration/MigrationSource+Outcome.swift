import L2Guest

/// Commit or abort: how a migration ends on the source. Before the switchover message every failure
/// resumes the VM here (`.resumeSource`); after it the source does not guess and waits for the
/// coordinator; the commit goes out once the destination resumed and the frozen memory is proved sent.
extension MigrationSource {
    /// The destination's `resumed`, after its `verified`: prove the frozen memory is what was sent, then
    /// commit and release the source's copy.
    mutating func commit(destinationResumedAt at: UInt64, now: UInt64) -> [SourceAction] {
        timeline.resumedAt = at
        timeline.resumedAckAt = now
        return proveFrozenAndCommit(now: now)
    }

    /// Proves the frozen memory is what was sent (when the settings ask), then commits and releases
    /// the source's copy; a difference leaves the decision to the coordinator.
    mutating func proveFrozenAndCommit(now: UInt64) -> [SourceAction] {
        if settings.verifyFrozenMemoryBeforeCommit {
            frozenVerified = verifySourceFrozenMemory()
            if frozenVerified == false {
                return awaitCoordinator("the source memory changed after it was sent (dirty tracking missed a write); the destination runs a copy that may differ, the coordinator must decide", now: now)
            }
        }
        phase = .completed
        status = .completed
        endTime = now
        let commit = emit(MigrationEncoder.encode(.commit))
        ram.transferred += commit.count
        return [.send(commit), .releaseSource, .completed(result(now: now))]
    }

    /// The connection closed or failed.
    public mutating func connectionLost(now: UInt64) -> [SourceAction] {
        switch phase {
        case .setup, .precopy, .awaitingAck, .stunning:
            return fail("connection to the destination lost during \(phaseDescription); the VM stays on the source",
                        now: now, sendAbort: false)
        case .switchover:
            return awaitCoordinator("connection lost after the switchover was sent and before the destination reported resumed; the VM stays stunned on the source until the coordinator decides", now: now)
        case .postcopy, .postcopyRecovering:
            return postcopyConnectionLost(now: now)
        case .idle, .completed, .failed, .awaitingCoordinator, .postcopyPaused:
            return []
        }
    }

    /// Checks deadlines: setup timeout, total-time cap, switchover timeout.
    public mutating func tick(now: UInt64) -> [SourceAction] {
        if let sealFailure, isActive { return protocolFailure(.secureChannel(sealFailure), now: now) }
        switch phase {
        case .setup where elapsed(startTime, now) > settings.setupTimeoutNanoseconds:
            return fail("the destination did not answer the spec within \(milliseconds(settings.setupTimeoutNanoseconds)) ms",
                        now: now, sendAbort: true)
        case .awaitingAck where elapsed(timeline.decidedAt ?? now, now) > settings.switchoverAckTimeoutNanoseconds:
            return fail("\(spec.vmName) was not stunned: the destination did not confirm within \(milliseconds(settings.switchoverAckTimeoutNanoseconds)) ms that it can resume it at once",
                        now: now, sendAbort: true)
        case .precopy where elapsed(startTime, now) > settings.convergence.maxTotalNanoseconds,
             .awaitingAck where elapsed(startTime, now) > settings.convergence.maxTotalNanoseconds,
             .stunning where elapsed(startTime, now) > settings.convergence.maxTotalNanoseconds:
            return fail("the migration exceeded the total-time limit of \(milliseconds(settings.convergence.maxTotalNanoseconds)) ms in round \(round)",
                        now: now, sendAbort: true)
        case .postcopy where postcopy?.destinationResumed == false
            && elapsed(timeline.finalPagesAt ?? now, now) > settings.switchoverTimeoutNanoseconds:
            return postcopyConnectionLost(now: now, reason: "the destination did not report resumed within \(milliseconds(settings.switchoverTimeoutNanoseconds)) ms of the post-copy switchover; the frozen memory stays here until the coordinator decides")
        case .switchover where elapsed(timeline.finalPagesAt ?? now, now) > settings.switchoverTimeoutNanoseconds:
            return awaitCoordinator("the destination did not report resumed within \(milliseconds(settings.switchoverTimeoutNanoseconds)) ms of the switchover; the VM stays stunned on the source until the coordinator decides", now: now)
        default:
            return []
        }
    }

    /// Cancels before the switchover (the VM stays on the source). After it, returns nothing.
    public mutating func cancel(reason: String, now: UInt64) -> [SourceAction] {
        guard phase == .setup || phase == .precopy || phase == .awaitingAck || phase == .stunning else { return [] }
        return fail("cancelled: \(reason)", now: now, sendAbort: true, status: .cancelled)
    }

    /// Re-hashes every page of the (frozen) source memory and compares with the hashes of the bytes
    /// sent. True proves source memory now == what the destination received; with the destination's
    /// digest check, destination memory at resume == source memory at stun. Memory speed; a copy of
    /// this value can run it on another thread.
    /// A page the kernel never backed is zero without reading it.
    public func verifySourceFrozenMemory() -> Bool {
        let populated = settings.populatedPages?().flatMap { $0.count == memory.dirty.wordsCount ? $0 : nil }
        for page in 0..<memory.pageCount {
            if let populated, populated[page >> 6] & (1 << UInt64(page & 63)) == 0 {
                if sentHashes[page] != PageHash.zeroPage { return false }
                continue
            }
            if memory.pageHash(page) != sentHashes[page] { return false }
        }
        return true
    }

    /// The figures so far (for progress) or final.
    public func result(now: UInt64) -> MigrationResult {
        let end = endTime ?? now
        var ram = self.ram
        ram.normalBytes = ram.normal * GuestMemory.pageSize
        ram.remaining = pendingPages * GuestMemory.pageSize
        ram.dirtySyncCount = rounds.count
        if let last = rounds.last(where: { $0.durationMs > 0 }) {
            ram.dirtyPagesRate = Double(last.dirtiedDuring) / (last.durationMs / 1000)
        }
        if let setupDoneTime {
            let precopyEnd = stunRequestedAt ?? end
            let seconds = Double(elapsed(setupDoneTime, precopyEnd)) / 1e9
            if seconds > 0 {
                ram.mbps = Double(ram.precopyBytes) * 8 / seconds / 1e6
                ram.pagesPerSecond = Double(precopyPages) / seconds
            }
        }
        var downtime: Double?
        if let stunRequestedAt, let resumedAt = timeline.resumedAt { downtime = milliseconds(elapsed(stunRequestedAt, resumedAt)) }
        var ack: Double?
        if let stunRequestedAt, let resumedAckAt = timeline.resumedAckAt { ack = milliseconds(elapsed(stunRequestedAt, resumedAckAt)) }
        let frozenOK = frozenVerified ?? !settings.verifyFrozenMemoryBeforeCommit
        var result = MigrationResult(
            status: status, totalTime: milliseconds(elapsed(startTime, end)),
            setupTime: setupDoneTime.map { milliseconds(elapsed(startTime, $0)) }, downtime: downtime,
            expectedDowntime: expectedDowntime.flatMap { $0 == .max ? nil : milliseconds($0) },
            stunToResumedAck: ack, ram: ram, cpuThrottlePercentage: maxThrottle, rounds: rounds,
            verified: destinationVerified && frozenOK, encryption: cipher, error: errorText)
        result.startedAt = phase == .idle ? nil : startTime
        result.precopyStartedAt = setupDoneTime
        result.endedAt = endTime
        result.switchover = timeline.decidedAt == nil ? nil : timeline
        result.switchoverAck = acknowledgement
        attachLanes(to: &result, now: now)
        result.mode = settings.mode == .precopy ? nil : settings.mode
        if var stats = postcopy?.stats {
            if let paused = postcopy?.pausedAt, phase == .postcopyPaused { stats.pausedMs += milliseconds(elapsed(paused, now)) }
            result.postcopy = stats
        }
        return result
    }

    mutating func protocolFailure(_ error: MigrationProtocolError, now: UInt64) -> [SourceAction] {
        if phase == .postcopyRecovering { return postcopyConnectionLost(now: now, reason: "the recovery failed: \(error.description)") }
        if phase == .postcopy { return postcopyConnectionLost(now: now, reason: "during post-copy: \(error.description)") }
        if phase == .switchover {
            return awaitCoordinator("after the switchover: \(error.description); the VM stays stunned on the source until the coordinator decides", now: now)
        }
        return fail(error.description, now: now, sendAbort: true)
    }

    mutating func fail(_ reason: String, now: UInt64, sendAbort: Bool,
                               status: MigrationStatus = .failed) -> [SourceAction] {
        var actions: [SourceAction] = []
        if sendAbort {
            let abort = emit(MigrationEncoder.encode(.abort(reason: reason)))
            ram.transferred += abort.count
            if !abort.isEmpty { actions.append(.send(abort)) }
        }
        if convergenceState.throttlePercent > 0 { actions.append(.throttle(percent: 0)) }
        phase = .failed
        self.status = status
        endTime = now
        errorText = reason
        actions.append(.resumeSource(reason: reason))
        actions.append(.failed(result(now: now)))
        return actions
    }

    mutating func awaitCoordinator(_ reason: String, now: UInt64) -> [SourceAction] {
        phase = .awaitingCoordinator
        status = .awaitingCoordinator
        endTime = now
        errorText = reason
        return [.awaitCoordinator(reason: reason)]
    }

    /// Takes the dirty bitmap into the round bitmap (atomic test-and-clear per 64 pages).
}
