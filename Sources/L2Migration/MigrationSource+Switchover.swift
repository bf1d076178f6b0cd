/// Switchover: the stun's final round streamed out in pieces, the switchover message with the VM's
/// state and the memory digest, the destination's verdict, and frames forwarded to the destination.
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

    /// The driver stunned the VM (after `.stun`): the final dirty pages, then the state, the queued
    /// frames and the digest in the switchover message. The first piece comes back as a `.send`; while
    /// `wantsToProduce`, `produce` gives the next pieces (the last ends with the switchover message).
    /// `stunnedAt` is when the VM actually froze (a driver may let the pipe drain between `.stun` and the
    /// freeze, with the VM still running); downtime counts from it. Without it, downtime counts from
    /// the `.stun` request.
    public mutating func stunned(vcpuState: [UInt8], workloadState: [UInt8], queuedFrames: [[UInt8]],
                                 stunnedAt: UInt64? = nil, now: UInt64) -> [SourceAction] {
        guard phase == .stunning, finalRound == nil else { return [] }
        if let stunnedAt { stunRequestedAt = stunnedAt }
        pendingPages = 0
        for word in 0..<roundBitmap.count {
            roundBitmap[word] |= memory.dirty.takeWord(word)
            pendingPages += roundBitmap[word].nonzeroBitCount
        }
        cursorWord = 0
        cursorBits = 0
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
    /// or nothing once forwarding makes no sense (before switchover, after the grace period, or a frame
    /// of 0 or over 65535 bytes). Sealed when the stream is encrypted.
    public mutating func forwardFrame(_ frame: [UInt8], now: UInt64) -> [SourceAction] {
        guard (1...MigrationWire.maxFrameLength).contains(frame.count) else { return [] }
        let forwarding = phase == .switchover
            || (phase == .completed && elapsed(resumedAckAt ?? now, now) <= settings.forwardGraceNanoseconds)
        guard forwarding else { return [] }
        let bytes = emit(MigrationEncoder.encode(.forwardedFrame(frame)))
        return bytes.isEmpty ? [] : [.send(bytes)]
    }
}
