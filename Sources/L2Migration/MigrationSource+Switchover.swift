/// Switchover: the destination's switchover-ack, the stun's final round streamed out in pieces, the
/// switchover message with the VM's state and the memory digest, the destination's verdict, and
/// frames forwarded to the destination.
extension MigrationSource {
    /// Plaintext bytes of each piece of the final round: small, so the destination stores the first
    /// pages while the source encodes the next, and the downtime is the slower side's work, not the sum.
    public static let finalPieceBytes = 256 * 1024

    /// What the switchover message carries besides the pages, held while the final round streams out.
    struct FinalRound {
        var vcpuState: [UInt8]
        var workloadState: [UInt8]
        var queuedFrames: [[UInt8]]
    }

    /// Page batches of the current round up to `budget`; in the final round, once the last page is in,
    /// the round marker, the digest and the switchover message. Returns true when the round is complete.
    mutating func writePiece(into buffer: inout [UInt8], budget: Int) -> Bool {
        if phase == .postcopy { return writePostcopy(into: &buffer, budget: budget) }
        guard writePrecopy(into: &buffer, budget: budget) else { return false }
        guard let state = finalRound else { return true }
        rounds.append(RoundStats(round: round, pages: roundPages, zeroPages: roundZeroPages, bytes: roundBytes,
                                 durationMs: 0, mbps: 0, dirtiedDuring: 0, startedAt: roundStartTime))
        MigrationEncoder.append(.switchover(SwitchoverState(
            finalRound: UInt32(round), vcpuState: state.vcpuState, workloadState: state.workloadState,
            queuedFrames: state.queuedFrames.filter { (1...MigrationWire.maxFrameLength).contains($0.count) },
            pageCount: UInt64(memory.pageCount), memoryDigest: runningDigest.value)), to: &buffer)
        return true
    }

    /// Asks the driver to stun the VM now.
    mutating func stun() -> [SourceAction] {
        phase = .stunning
        status = .device
        return [.stun]
    }

    /// The destination's switchover-ack: it can resume at once, so the VM may be stunned. While the
    /// answer travelled the VM kept running: the pages it dirtied meanwhile go out in one more round
    /// with the VM still running (the next switchover decision stuns without asking again), so the
    /// wait for the answer does not grow the stun. With nothing dirty, stun now.
    mutating func acknowledged(detail: String, now: UInt64) -> [SourceAction] {
        timeline.acknowledgedAt = now
        acknowledgement = detail
        // The pages the last round left dirty are still in the round bitmap: add the new ones to them.
        guard mergeDirtyBits() > 0 else { return stun() }
        phase = .precopy
        startRound(now: now)
        return []
    }

    /// Adds the pages dirtied since the last snapshot to those still to send (the round bitmap);
    /// returns how many are to send now and restarts the cursor.
    @discardableResult
    mutating func mergeDirtyBits() -> Int {
        pendingPages = 0
        for word in 0..<roundBitmap.count {
            roundBitmap[word] |= memory.dirty.takeWord(word)
            pendingPages += roundBitmap[word].nonzeroBitCount
        }
        cursorWord = 0
        cursorBits = 0
        return pendingPages
    }

    /// The driver queued the switchover message (the last of the final pages) at `now`: a finer
    /// moment than the `now` `produce` was given before it encoded them.
    public mutating func finalPagesQueued(at now: UInt64) {
        guard phase == .switchover || phase == .completed, let queued = timeline.finalPagesAt, now > queued else { return }
        timeline.finalPagesAt = now
    }

    /// The driver stunned the VM (after `.stun`): the final dirty pages, then the state, the queued
    /// frames and the digest in the switchover message. The first piece comes back as a `.send`; while
    /// `wantsToProduce`, `produce` gives the next pieces (the last ends with the switchover message).
    /// `stunnedAt` is when the VM actually froze (a driver may let the pipe drain between `.stun` and the
    /// freeze, with the VM still running); downtime counts from it. Without it, downtime counts from
    /// the `.stun` request. `frozenAt` (the vCPUs stopped) and `stateCapturedAt` (their state read)
    /// split the first moments of the downtime in the report; `now` is when the final pages start.
    /// In post-copy, `hotPages` (the pages the VM touches first: its network state) go out before the
    /// VM resumes on the destination, the rest after it.
    public mutating func stunned(vcpuState: [UInt8], workloadState: [UInt8], queuedFrames: [[UInt8]],
                                 stunnedAt: UInt64? = nil, frozenAt: UInt64? = nil, stateCapturedAt: UInt64? = nil,
                                 hotPages: [Int] = [], now: UInt64) -> [SourceAction] {
        guard phase == .stunning, finalRound == nil else { return [] }
        if let stunnedAt { stunRequestedAt = stunnedAt }
        if postcopyPending {
            timeline.freezeAt = stunRequestedAt ?? now
            timeline.frozenAt = frozenAt ?? timeline.freezeAt
            timeline.stateCapturedAt = stateCapturedAt ?? now
            return startPostcopy(FinalRound(vcpuState: vcpuState, workloadState: workloadState, queuedFrames: queuedFrames),
                                 hotPages: hotPages, now: now)
        }
        mergeDirtyBits()
        timeline.freezeAt = stunRequestedAt ?? now
        timeline.frozenAt = frozenAt ?? timeline.freezeAt
        timeline.stateCapturedAt = stateCapturedAt ?? now
        startRound(now: now)
        finalRound = FinalRound(vcpuState: vcpuState, workloadState: workloadState, queuedFrames: queuedFrames)
        var out: [UInt8] = []
        let actions = produce(into: &out, budget: Self.finalPieceBytes, now: now)
        return (out.isEmpty ? [] : [.send(out)]) + actions
    }

    /// The destination's `verified`: its digest of what it stored must be the one the switchover carried.
    mutating func verified(digest: UInt64, now: UInt64) -> [SourceAction] {
        // No page is recorded after the switchover message, so the running digest is what it carried.
        guard digest == runningDigest.value else {
            return protocolFailure(.inconsistent("the destination verified digest \(digest), the source sent \(runningDigest.value)"), now: now)
        }
        destinationVerified = true
        return []
    }

    /// A frame that reached the source for the VM after the switchover: returns a `.send` forwarding it,
    /// (post-copy included: the VM runs on the destination while pages still go out),
    /// or nothing once forwarding makes no sense (before switchover, after the grace period, or a frame
    /// of 0 or over 65535 bytes). Sealed when the stream is encrypted.
    public mutating func forwardFrame(_ frame: [UInt8], now: UInt64) -> [SourceAction] {
        guard (1...MigrationWire.maxFrameLength).contains(frame.count) else { return [] }
        let forwarding = phase == .switchover || phase == .postcopy
            || (phase == .completed && elapsed(timeline.resumedAckAt ?? now, now) <= settings.forwardGraceNanoseconds)
        guard forwarding else { return [] }
        let bytes = emit(MigrationEncoder.encode(.forwardedFrame(frame)))
        return bytes.isEmpty ? [] : [.send(bytes)]
    }
}
