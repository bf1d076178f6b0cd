import L2Guest

/// Pre-copy: round 1 sends every page (never-backed runs as zero ranges), each later round the pages
/// dirtied during the one before; after each round the convergence policy decides what comes next.
extension MigrationSource {
    /// Appends up to about `budget` bytes of page batches of the current round to `buffer` (at least one
    /// page per call). Bytes count as sent when produced. At the end of a round it appends the round
    /// marker and applies the convergence policy: the returned actions may be `.throttle`, `.stun` or a
    /// clean failure (the buffer must still be written first). With encryption on, the appended bytes
    /// are sealed records (the budget counts plaintext).
    public mutating func produce(into buffer: inout [UInt8], budget: Int, now: UInt64) -> [SourceAction] {
        produce(lane: 0, into: &buffer, budget: budget, othersIdle: true, now: now)
    }

    /// `produce(into:budget:now:)` for one lane of several (see `MigrationSource+Lanes`): call it only
    /// for a lane whose output has drained, with `othersIdle` true when every other lane's has too.
    /// Lanes 1 and up get page batches of the round (sealed with the lane's keys); lane 0 also gets
    /// the round marker and the switchover message, once the round's pages are all out and
    /// `othersIdle`.
    public mutating func produce(lane: Int, into buffer: inout [UInt8], budget: Int, othersIdle: Bool,
                                 now: UInt64) -> [SourceAction] {
        guard wantsToProduce(lane: lane) else { return [] }
        lanes.producing = lane
        lanes.othersIdle = othersIdle
        defer {
            lanes.producing = 0
            lanes.othersIdle = true
        }
        let final = finalRound != nil
        let producedRound = UInt32(round)
        let start = buffer.count
        let pieceBudget = final ? min(budget, Self.finalPieceBytes) : budget
        let done: Bool
        if lane == 0 ? channel != nil : lanes.channels[lane] != nil {
            // Borrow the scratch buffer (keeps its capacity across calls).
            var plaintext: [UInt8] = []
            swap(&plaintext, &scratch)
            plaintext.removeAll(keepingCapacity: true)
            done = writePiece(into: &plaintext, budget: pieceBudget)
            buffer.reserveCapacity(start + plaintext.count
                + (plaintext.count / SecureChannel.defaultMaxRecordLength + 2) * SecureChannel.recordOverhead)
            if lane == 0 {
                channel.appendWireBytes(of: plaintext, to: &buffer, failure: &sealFailure)
            } else {
                lanes.channels[lane].appendWireBytes(of: plaintext, to: &buffer, failure: &sealFailure)
            }
            swap(&plaintext, &scratch)
        } else {
            done = writePiece(into: &buffer, budget: pieceBudget)
        }
        ram.transferred += buffer.count - start
        if phase == .postcopy {
            postcopy?.stats.bytes += buffer.count - start
            if let sealFailure { return protocolFailure(.secureChannel(sealFailure), now: now) }
            return []
        }
        if lane != 0 { lanes.wireBytes[lane, default: 0] += buffer.count - start }
        lanes.count(buffer.count - start, lane: lane, round: producedRound, lanes: laneCount)
        if final { ram.downtimeBytes += buffer.count - start } else { ram.precopyBytes += buffer.count - start }
        if let sealFailure { return protocolFailure(.secureChannel(sealFailure), now: now) }
        guard done else { return [] }
        if final {
            finalRound = nil
            phase = .switchover
            status = .device
            timeline.finalPagesAt = now
            return []
        }
        return finishRound(now: now)
    }

    mutating func takeDirtySnapshot() -> Int {
        pendingPages = 0
        for word in 0..<roundBitmap.count {
            let bits = memory.dirty.takeWord(word)
            roundBitmap[word] = bits
            pendingPages += bits.nonzeroBitCount
        }
        cursorWord = 0
        cursorBits = 0
        return pendingPages
    }

    /// Round 1 sends every page. Pages that were never backed by the kernel and never marked dirty are
    /// zero: they are recorded in `knownZero` and sent without being read.
    mutating func startFirstRound(now: UInt64) {
        let populated = settings.populatedPages?().flatMap { $0.count == roundBitmap.count ? $0 : nil }
        var zero = populated.map { _ in [UInt64](repeating: 0, count: roundBitmap.count) }
        pendingPages = 0
        for word in 0..<roundBitmap.count {
            let remaining = memory.pageCount - word * 64
            let all: UInt64 = remaining >= 64 ? .max : (1 << UInt64(remaining)) - 1
            // Taking the dirty bits starts tracking: a write whose mark lands after this is sent again
            // in round 2. A page written before (marked) is read now, whatever the kernel says.
            let written = memory.dirty.takeWord(word)
            if let populated { zero![word] = all & ~(populated[word] | written) }
            roundBitmap[word] = all
            pendingPages += all.nonzeroBitCount
        }
        cursorWord = 0
        cursorBits = 0
        knownZero = zero
        startRound(now: now)
    }

    mutating func startRound(now: UInt64) {
        round += 1
        roundStartTime = now
        roundPages = 0
        roundZeroPages = 0
        roundBytes = 0
    }

    /// Takes the pages right after `page` that are next in the round and known to be zero, a whole
    /// bit word at a time where it can; returns the end of the run (exclusive).
    mutating func takeZeroRun(after page: Int, knownZero: [UInt64]) -> Int {
        var end = page + 1
        while pendingPages > 0 {
            if cursorBits == 0 {
                let word = cursorWord
                if word << 6 == end && roundBitmap[word] == .max && knownZero[word] == .max {
                    roundBitmap[word] = 0
                    cursorWord += 1
                    pendingPages -= 64
                    end += 64
                } else {
                    cursorBits = roundBitmap[word]
                    roundBitmap[word] = 0
                    cursorWord += 1
                }
                continue
            }
            let next = (cursorWord - 1) << 6 + cursorBits.trailingZeroBitCount
            guard next == end, knownZero[next >> 6] & (1 << UInt64(next & 63)) != 0 else { break }
            cursorBits &= cursorBits - 1
            pendingPages -= 1
            end += 1
        }
        return end
    }

    mutating func nextPage() -> Int {
        while cursorBits == 0 {
            cursorBits = roundBitmap[cursorWord]
            roundBitmap[cursorWord] = 0
            cursorWord += 1
        }
        let bit = cursorBits.trailingZeroBitCount
        cursorBits &= cursorBits - 1
        pendingPages -= 1
        return (cursorWord - 1) * 64 + bit
    }

    mutating func encode(page: Int, into buffer: inout [UInt8]) {
        if let knownZero, knownZero[page >> 6] & (1 << UInt64(page & 63)) != 0 {
            // Round 1: nothing was sent before, so the sent hash of every page in the run is already
            // the zero hash and the running digest does not change.
            let end = takeZeroRun(after: page, knownZero: knownZero)
            writer.appendZero(pages: page..<end, in: &buffer)
            roundZeroPages += end - page
            ram.duplicate += end - page
            roundPages += end - page
            return
        }
        let contents = UnsafeRawPointer(memory.pointer(toPage: page))
        if PageHash.isZero(contents) {
            writer.appendZero(page: page, in: &buffer)
            record(page: page, hash: PageHash.zeroPage)
            roundZeroPages += 1
            ram.duplicate += 1
        } else {
            record(page: page, hash: writer.appendPage(page: page, contents: contents, in: &buffer))
            ram.normal += 1
        }
        roundPages += 1
    }

    /// What went out for `page`: its hash, and the running digest follows.
    @inline(__always)
    mutating func record(page: Int, hash: UInt64) {
        runningDigest.replace(page: page, old: sentHashes[page], new: hash)
        sentHashes[page] = hash
    }

    /// Appends up to about `budget` bytes of page batches (at least one page), and the round marker once
    /// the round's last page is in; returns true then. `roundBytes` counts the plaintext.
    mutating func writePrecopy(into buffer: inout [UInt8], budget: Int) -> Bool {
        let start = buffer.count
        let recordMax = MigrationWire.pageRecordHeaderLength + MigrationWire.pageSize
        let batchOverhead = MigrationWire.headerLength + MigrationWire.pageBatchPrefixLength
        buffer.reserveCapacity(start + max(budget, 0) + batchOverhead + recordMax + 64)
        var wrote = false
        while pendingPages > 0 {
            let need = (writer.isOpen ? 0 : batchOverhead) + recordMax
            if wrote && buffer.count - start + need > budget { break }
            if !writer.isOpen { writer.begin(round: UInt32(round), in: &buffer) }
            encode(page: nextPage(), into: &buffer)
            wrote = true
            if writer.count >= settings.pagesPerBatch { writer.finish(in: &buffer) }
        }
        if writer.isOpen { writer.finish(in: &buffer) }
        roundBytes += buffer.count - start
        guard pendingPages == 0, lanes.mayEndRound else { return false }
        let markerStart = buffer.count
        MigrationEncoder.append(.roundEnd(round: UInt32(round), pages: UInt64(roundPages), bytes: UInt64(roundBytes)),
                                to: &buffer)
        roundBytes += buffer.count - markerStart
        return true
    }

    /// After the round marker went out: the round's figures and the convergence decision.
    mutating func finishRound(now: UInt64) -> [SourceAction] {
        knownZero = nil
        precopyPages += roundPages
        let dirtied = takeDirtySnapshot()
        let duration = elapsed(roundStartTime, now)
        rounds.append(RoundStats(
            round: round, pages: roundPages, zeroPages: roundZeroPages, bytes: roundBytes,
            durationMs: milliseconds(duration),
            mbps: duration == 0 ? 0 : Double(roundBytes) * 8 * 1000 / Double(duration), dirtiedDuring: dirtied,
            startedAt: roundStartTime))
        let observation = RoundObservation(
            round: round, pagesSent: roundPages, bytesSent: roundBytes, durationNanoseconds: duration,
            dirtyPages: dirtied, pageSize: GuestMemory.pageSize, elapsedNanoseconds: elapsed(startTime, now))
        switch settings.convergence.decide(after: observation, state: &convergenceState) {
        case let .switchover(expected):
            expectedDowntime = expected
            stunRequestedAt = now
            // The first decision starts the switchover; a later one (after the round that follows the
            // switchover-ack) does not move it.
            if timeline.decidedAt == nil { timeline.decidedAt = now }
            guard settings.switchoverAck, acknowledgement == nil else { return stun() }
            phase = .awaitingAck
            let query = emit(MigrationEncoder.encode(.switchoverQuery))
            ram.transferred += query.count
            return query.isEmpty ? [] : [.send(query)]
        case let .nextRound(expected, throttle):
            expectedDowntime = expected
            // Hybrid: rounds that stop converging (the policy would throttle) switch to post-copy.
            if settings.mode == .hybrid, throttle != nil { return beginPostcopy(now: now) }
            startRound(now: now)
            guard let throttle else { return [] }
            maxThrottle = max(maxThrottle, throttle)
            return [.throttle(percent: throttle)]
        case let .fail(reason):
            if settings.mode == .hybrid { return beginPostcopy(now: now) }
            return fail(reason, now: now, sendAbort: true)
        }
    }
}
