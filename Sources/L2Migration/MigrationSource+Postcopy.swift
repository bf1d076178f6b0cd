import L2Guest

/// What the source keeps during post-copy: the pages the destination still lacks (not sent since
/// they last changed), the destination's requests in arrival order, and the figures.
struct SourcePostcopy: Sendable {
    /// One bit per page the destination lacks and the source has not sent since the stun.
    var unsent: [UInt64]
    var unsentCount: Int
    /// Requested pages, oldest first (`queueHead` is the next); `queued` marks them.
    var queue: [Int] = []
    var queueHead = 0
    var queued: [UInt64]
    /// The background push's next bit word.
    var cursorWord = 0
    var stats = PostcopyStats()
    /// The destination's `resumed` arrived: the VM runs there, it cannot run here again.
    var destinationResumed = false
    /// `postcopyEnd` went out.
    var endSent = false
    var pausedAt: UInt64?
    /// Recoveries started (each over a new connection, lane `recoveryLaneBase + generation`).
    var generation: UInt16 = 0
}

/// Post-copy on the source: the stun sends the VM's state and the list of pages the destination
/// lacks (`postcopyStart`), after the few pages given as hot (the ones the VM touches first, sent in
/// one last small round so it need not fault on them); then every missing page goes out, requested
/// ones before the background push, and `postcopyEnd` carries the digest of the memory as frozen.
/// The commit follows the destination's `verified`.
extension MigrationSource {
    /// Decides to switch over into post-copy now: stun (no switchover-ack: the destination resumes
    /// with pages missing, it has nothing to warm up).
    mutating func beginPostcopy(now: UInt64) -> [SourceAction] {
        stunRequestedAt = now
        if timeline.decidedAt == nil { timeline.decidedAt = now }
        postcopyPending = true
        return stun()
    }

    /// The VM is stunned and post-copy was decided: the hot pages in a last round, then
    /// `postcopyStart`. Returns the bytes to send.
    mutating func startPostcopy(_ state: FinalRound, hotPages: [Int], now: UInt64) -> [SourceAction] {
        postcopyPending = false
        let words = roundBitmap.count
        var missing = roundBitmap
        if cursorBits != 0, cursorWord > 0 { missing[cursorWord - 1] |= cursorBits }
        for word in 0..<words {
            let dirty = memory.dirty.takeWord(word)
            missing[word] |= dirty
            // Never backed, never written: zero there too (the destination's fresh memory is zero).
            if let knownZero { missing[word] &= ~(knownZero[word] & ~dirty) }
        }
        knownZero = nil
        var out: [UInt8] = []
        // The hot pages the destination lacks, in one last round before the VM resumes there.
        var hot = [UInt64](repeating: 0, count: words)
        var hotCount = 0
        for page in hotPages where page >= 0 && page < memory.pageCount {
            let (word, bit) = (page >> 6, UInt64(1) << UInt64(page & 63))
            guard missing[word] & bit != 0, hot[word] & bit == 0 else { continue }
            hot[word] |= bit
            missing[word] &= ~bit
            hotCount += 1
        }
        // A round started and not sent (post-copy from the start) does not count: the destination
        // has seen only the completed ones.
        round = rounds.count
        if hotCount > 0 {
            roundBitmap = hot
            pendingPages = hotCount
            cursorWord = 0
            cursorBits = 0
            startRound(now: now)
            let budget = hotCount * (MigrationWire.pageRecordHeaderLength + MigrationWire.pageSize) + 4096
            while !writePrecopy(into: &out, budget: budget) {}
            precopyPages += roundPages
            rounds.append(RoundStats(round: round, pages: roundPages, zeroPages: roundZeroPages, bytes: roundBytes,
                                     durationMs: 0, mbps: 0, dirtiedDuring: 0, startedAt: roundStartTime))
        }
        roundBitmap = [UInt64](repeating: 0, count: words)
        pendingPages = 0
        let unsentCount = missing.reduce(0) { $0 + $1.nonzeroBitCount }
        MigrationEncoder.append(.postcopyStart(PostcopyStart(
            lastRound: UInt32(rounds.count), vcpuState: state.vcpuState, workloadState: state.workloadState,
            queuedFrames: state.queuedFrames.filter { (1...MigrationWire.maxFrameLength).contains($0.count) },
            pageCount: UInt64(memory.pageCount), missing: Self.ranges(of: missing, pageCount: memory.pageCount))), to: &out)
        postcopy = SourcePostcopy(unsent: missing, unsentCount: unsentCount, queued: [UInt64](repeating: 0, count: words))
        postcopy?.stats.startedAt = now
        phase = .postcopy
        status = .postcopyActive
        timeline.finalPagesAt = now
        let wire = emit(out)
        ram.transferred += wire.count
        ram.downtimeBytes += wire.count
        return wire.isEmpty ? [] : [.send(wire)]
    }

    /// The destination's request: pages still unsent join the queue (once); the others are counted.
    mutating func requested(_ pages: [UInt64]) {
        guard var state = postcopy else { return }
        state.stats.requests += 1
        state.stats.requestedPages += pages.count
        for value in pages {
            // The source's decoder does not know the page count: out-of-range pages are dropped here.
            guard value < UInt64(memory.pageCount) else { continue }
            let page = Int(value)
            let (word, bit) = (page >> 6, UInt64(1) << UInt64(page & 63))
            guard state.unsent[word] & bit != 0 else {
                state.stats.requestedAlreadySent += 1
                continue
            }
            guard state.queued[word] & bit == 0 else { continue }
            state.queued[word] |= bit
            state.queue.append(page)
        }
        postcopy = state
    }

    /// True while post-copy has pages (or its end) to write.
    var postcopyWantsToProduce: Bool {
        guard phase == .postcopy, let postcopy else { return false }
        return !postcopy.endSent
    }

    /// The next page to send: the oldest request still unsent, else the next unsent page in order.
    mutating func nextPostcopyPage() -> Int? {
        guard var state = postcopy else { return nil }
        defer { postcopy = state }
        while state.queueHead < state.queue.count {
            let page = state.queue[state.queueHead]
            state.queueHead += 1
            let (word, bit) = (page >> 6, UInt64(1) << UInt64(page & 63))
            state.queued[word] &= ~bit
            if state.unsent[word] & bit != 0 {
                state.unsent[word] &= ~bit
                state.unsentCount -= 1
                return page
            }
        }
        if state.queueHead == state.queue.count, state.queueHead > 0 {
            state.queue.removeAll(keepingCapacity: true)
            state.queueHead = 0
        }
        while state.unsentCount > 0, state.cursorWord < state.unsent.count {
            let bits = state.unsent[state.cursorWord]
            if bits == 0 {
                state.cursorWord += 1
                continue
            }
            let bit = bits.trailingZeroBitCount
            state.unsent[state.cursorWord] &= bits - 1
            state.unsentCount -= 1
            return state.cursorWord << 6 + bit
        }
        return nil
    }

    /// Post-copy page batches up to about `budget` bytes (at least one page); once every page is out,
    /// `postcopyEnd`. Returns true when `postcopyEnd` was appended.
    mutating func writePostcopy(into buffer: inout [UInt8], budget: Int) -> Bool {
        let start = buffer.count
        let recordMax = MigrationWire.pageRecordHeaderLength + MigrationWire.pageSize
        let batchOverhead = MigrationWire.headerLength + MigrationWire.pageBatchPrefixLength
        var wrote = false
        var sent = 0
        while !wrote || buffer.count - start + (writer.isOpen ? 0 : batchOverhead) + recordMax <= budget {
            guard let page = nextPostcopyPage() else { break }
            if !writer.isOpen { writer.begin(round: MigrationWire.postcopyRound, in: &buffer) }
            let contents = UnsafeRawPointer(memory.pointer(toPage: page))
            if PageHash.isZero(contents) {
                writer.appendZero(page: page, in: &buffer)
                record(page: page, hash: PageHash.zeroPage)
                ram.duplicate += 1
            } else {
                record(page: page, hash: writer.appendPage(page: page, contents: contents, in: &buffer))
                ram.normal += 1
            }
            sent += 1
            wrote = true
            if writer.count >= settings.pagesPerBatch { writer.finish(in: &buffer) }
        }
        if writer.isOpen { writer.finish(in: &buffer) }
        postcopy?.stats.pages += sent
        guard var state = postcopy, state.unsentCount == 0, state.queueHead >= state.queue.count, !state.endSent else { return false }
        state.endSent = true
        postcopy = state
        MigrationEncoder.append(.postcopyEnd(pages: UInt64(state.stats.pages), digest: runningDigest.value), to: &buffer)
        return true
    }

    /// The destination's `resumed` during post-copy: the VM runs there; from now on the source
    /// cannot take it back, whatever happens to the link.
    mutating func postcopyResumed(at: UInt64, arrived: UInt64, verified: UInt64, now: UInt64) -> [SourceAction] {
        timeline.resumedAt = at
        timeline.resumedAckAt = now
        timeline.switchoverArrivedAt = arrived
        timeline.verifiedAt = verified
        postcopy?.destinationResumed = true
        return []
    }

    /// The destination's proof at the end of post-copy: its digest over every page it stored must be
    /// the source's over the frozen memory; then the commit.
    mutating func postcopyVerified(digest: UInt64, now: UInt64) -> [SourceAction] {
        guard digest == runningDigest.value else {
            return postcopyConnectionLost(now: now, reason: "post-copy: the destination's memory digest \(digest) differs from the source's \(runningDigest.value); the frozen memory stays here")
        }
        destinationVerified = true
        postcopy?.stats.endedAt = now
        if let started = postcopy?.stats.startedAt { postcopy?.stats.durationMs = milliseconds(elapsed(started, now)) }
        return proveFrozenAndCommit(now: now)
    }

    /// The link failed during post-copy. Before the destination's `resumed` the end is ambiguous (the
    /// coordinator decides, as for a pre-copy switchover); after it the VM runs there and pauses: the
    /// source keeps its frozen memory for a recovery.
    ///
    /// Whether or not the destination's `resumed` arrived, the source parks: it may have resumed the
    /// VM (the message lost with the link), so the frozen memory must stay for a recovery. The
    /// pre-copy resolution would release it. If the destination never ran the VM, the coordinator
    /// resumes it here instead.
    mutating func postcopyConnectionLost(now: UInt64, reason given: String? = nil) -> [SourceAction] {
        if phase == .postcopy {
            postcopy?.pausedAt = now
            postcopy?.stats.pauses += 1
        }
        phase = .postcopyPaused
        status = .postcopyPaused
        let reason = given ?? "connection to the destination lost during post-copy (\(postcopy?.unsentCount ?? 0) pages not sent); the VM is paused on the destination until the migration recovers"
        errorText = reason
        return [.postcopyPaused(reason: reason)]
    }

    /// `migrate --recover`: over a new connection (the driver opened it), the lane hello of the next
    /// recovery lane, in clear; what follows on it is sealed with that lane's keys. The destination
    /// answers with what it still lacks.
    public mutating func recover(now: UInt64) -> [SourceAction] {
        guard phase == .postcopyPaused, var state = postcopy, let destinationNonce = lanes.destinationNonce,
              state.generation < UInt16.max - MigrationWire.recoveryLaneBase else { return [] }
        state.generation += 1
        postcopy = state
        let lane = MigrationWire.recoveryLaneBase + state.generation
        let hello = LaneHello(id: settings.migrationID, lane: lane, sourceNonce: nonce, destinationNonce: destinationNonce, key: settings.secret)
        channel = cipher == .aes256GCM
            ? SecureChannel(secret: settings.secret, id: settings.migrationID, sourceNonce: nonce, destinationNonce: destinationNonce,
                            role: .source, lane: Int(lane))
            : nil
        decoder = MigrationDecoder(pageCount: memory.pageCount)
        opened.removeAll()
        writer = PageBatchWriter()
        phase = .postcopyRecovering
        let bytes = MigrationEncoder.encode(.laneHello(hello))
        ram.transferred += bytes.count
        return [.send(bytes)]
    }

    /// The destination's answer to a recovery: exactly the pages it lacks go out again (those that
    /// were in flight when the link failed included), then `postcopyEnd` as before.
    mutating func recovered(missing: [Range<UInt64>], now: UInt64) -> [SourceAction] {
        guard var state = postcopy else { return [] }
        var bits = [UInt64](repeating: 0, count: state.unsent.count)
        let count = Self.setBits(missing, in: &bits)
        state.unsent = bits
        state.unsentCount = count
        state.queue.removeAll()
        state.queueHead = 0
        state.queued = [UInt64](repeating: 0, count: bits.count)
        state.cursorWord = 0
        state.endSent = false
        if let paused = state.pausedAt { state.stats.pausedMs += milliseconds(elapsed(paused, now)) }
        state.pausedAt = nil
        postcopy = state
        phase = .postcopy
        status = .postcopyActive
        errorText = nil
        return []
    }

    /// Page ranges of the set bits of `bitmap`, ascending (a bit word at a time where it is all
    /// set or all clear: this runs inside the stun).
    static func ranges(of bitmap: [UInt64], pageCount: Int) -> [Range<UInt64>] {
        var ranges: [Range<UInt64>] = []
        var open: Int?
        func set(_ page: Int, _ on: Bool) {
            if on, open == nil { open = page }
            if !on, let first = open {
                ranges.append(UInt64(first)..<UInt64(page))
                open = nil
            }
        }
        for (word, bits) in bitmap.enumerated() where word << 6 < pageCount {
            let base = word << 6
            if bits == 0 || bits == .max {
                set(base, bits == .max)
                continue
            }
            for bit in 0..<64 where base + bit < pageCount { set(base + bit, bits & (UInt64(1) << UInt64(bit)) != 0) }
        }
        if let first = open { ranges.append(UInt64(first)..<UInt64(pageCount)) }
        return ranges
    }

    /// Sets the bits of `ranges` in `bitmap` (whole words where a range covers them).
    static func setBits(_ ranges: [Range<UInt64>], in bitmap: inout [UInt64]) -> Int {
        var count = 0
        for range in ranges {
            var page = Int(range.lowerBound)
            let end = Int(range.upperBound)
            while page < end {
                if page & 63 == 0 && end - page >= 64 {
                    bitmap[page >> 6] = .max
                    page += 64
                } else {
                    bitmap[page >> 6] |= UInt64(1) << UInt64(page & 63)
                    page += 1
                }
            }
            count += range.count
        }
        return count
    }
}
