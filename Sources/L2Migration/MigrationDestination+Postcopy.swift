import L2Guest

/// What the destination keeps during post-copy: the pages it lacks, when each requested one was
/// first asked for, and the figures.
struct DestinationPostcopy: Sendable {
    /// One bit per page this host does not hold yet (its VM must not touch it before it arrives).
    var missing: [UInt64]
    var missingCount: Int
    /// Requested pages not arrived yet, with the time of the first request.
    var requestedAt: [Int: UInt64] = [:]
    /// Requests made while the link was down, sent once it is back.
    var unsentRequests: [Int] = []
    /// Wait of each fault, request to arrival (ns).
    var latencies: [UInt64] = []
    var stats = PostcopyStats()
    var pausedAt: UInt64?
    /// The last recovery accepted (its lane is `recoveryLaneBase + generation`).
    var generation: UInt16 = 0
    /// `postcopyEnd` that arrived while the VM was still resuming: handled right after `resumed`.
    var heldEnd: (pages: UInt64, digest: UInt64)?
}

/// Post-copy on the destination: `postcopyStart` lists the pages this host lacks and the VM resumes
/// at once; a page the VM touches and lacks is asked for (`pageFault`); post-copy batches fill the
/// missing pages, never a page already here (the VM may have written it); `postcopyEnd` must find
/// nothing missing and the digest of every page as stored equal to the source's over its frozen
/// memory, which proves this memory was the source's at the switchover before the VM wrote to it.
/// A link that fails after the resume pauses the VM (`.pauseVM`); it is never discarded.
extension MigrationDestination {
    /// Whether `page` is still missing here (false outside post-copy).
    public func isMissing(_ page: Int) -> Bool {
        guard let postcopy, page >= 0, page >> 6 < postcopy.missing.count else { return false }
        return postcopy.missing[page >> 6] & (UInt64(1) << UInt64(page & 63)) != 0
    }

    /// The missing pages as bit words (`DirtyBitmap` layout; empty outside post-copy).
    public var missingPageBits: [UInt64] { postcopy?.missing ?? [] }

    /// Pages still missing (0 outside post-copy).
    public var missingPageCount: Int { postcopy?.missingCount ?? 0 }

    /// `postcopyStart`: the pre-copy rounds must be complete; the VM resumes with the listed pages missing.
    mutating func startPostcopy(_ start: PostcopyStart, now: UInt64) -> [DestinationAction] {
        guard let memory else { return [] }
        guard settings.acceptsPostcopy else {
            return protocolFailure(.inconsistent("post-copy was not agreed for this migration (the coordinator prepared a pre-copy)"))
        }
        guard start.lastRound + 1 == expectedRound, roundPages == 0, lanes.ahead.isEmpty,
              start.pageCount == UInt64(memory.pageCount) else {
            return protocolFailure(.inconsistent("post-copy after round \(start.lastRound) for \(start.pageCount) pages; received \(expectedRound - 1) rounds for \(memory.pageCount) pages"))
        }
        var missing = [UInt64](repeating: 0, count: (memory.pageCount + 63) / 64)
        let count = MigrationSource.setBits(start.missing, in: &missing)
        var state = DestinationPostcopy(missing: missing, missingCount: count)
        state.stats.startedAt = now
        postcopy = state
        switchoverArrivedAt = now
        phase = .resuming
        let switchover = SwitchoverState(finalRound: start.lastRound, vcpuState: start.vcpuState, workloadState: start.workloadState,
                                         queuedFrames: start.queuedFrames, pageCount: start.pageCount, memoryDigest: 0)
        return [.resumeVMPostcopy(switchover, missingPages: count)]
    }

    /// The VM touched `pages` and waits for those still missing: asks the source for them (once
    /// each; while the link is down the requests wait for it). Returns what to send.
    public mutating func pageFault(_ pages: [Int], now: UInt64) -> [DestinationAction] {
        guard var state = postcopy, phase == .resuming || phase == .postcopyActive || phase == .postcopyPaused else { return [] }
        var ask: [UInt64] = []
        for page in pages where isMissing(page) && state.requestedAt[page] == nil {
            state.requestedAt[page] = now
            state.stats.faults = (state.stats.faults ?? 0) + 1
            if phase == .postcopyPaused { state.unsentRequests.append(page) } else { ask.append(UInt64(page)) }
        }
        postcopy = state
        return requestPages(ask)
    }

    /// `pageRequest` messages for `pages`, at most `maxRequestPages` each.
    mutating func requestPages(_ pages: [UInt64]) -> [DestinationAction] {
        var actions: [DestinationAction] = []
        var start = 0
        while start < pages.count {
            let end = min(start + MigrationWire.maxRequestPages, pages.count)
            postcopy?.stats.requests += 1
            postcopy?.stats.requestedPages += end - start
            actions += send(.pageRequest(pages: Array(pages[start..<end])))
            start = end
        }
        return actions
    }

    /// A post-copy page batch: each page still missing is stored (and hashed into the digest); a
    /// page already here is a duplicate, counted and dropped. Returns the pages that arrived, for
    /// the driver to let the VM touch them.
    mutating func applyPostcopy(_ batch: PageBatch, now: UInt64) -> [DestinationAction] {
        guard let memory, var state = postcopy else { return [] }
        var arrived: [Int] = []
        var running = runningDigest
        var duplicates = 0
        func take(_ index: Int) -> Bool {
            let (word, bit) = (index >> 6, UInt64(1) << UInt64(index & 63))
            guard state.missing[word] & bit != 0 else {
                duplicates += 1
                return false
            }
            state.missing[word] &= ~bit
            state.missingCount -= 1
            if let asked = state.requestedAt.removeValue(forKey: index) { state.latencies.append(elapsed(asked, now)) }
            arrived.append(index)
            return true
        }
        batch.forEachRecord { record in
            switch record {
            case let .page(index, contents):
                guard take(index) else { return }
                memory.storePage(index, from: contents)
                let hash = memory.pageHash(index)
                storedPages[index >> 6] |= UInt64(1) << UInt64(index & 63)
                running.replace(page: index, old: receivedHashes[index], new: hash)
                receivedHashes[index] = hash
            case let .zero(pages):
                for index in pages where take(index) {
                    memory.zeroPage(index)
                    storedPages[index >> 6] &= ~(UInt64(1) << UInt64(index & 63))
                    running.replace(page: index, old: receivedHashes[index], new: PageHash.zeroPage)
                    receivedHashes[index] = PageHash.zeroPage
                }
            }
        }
        runningDigest = running
        state.stats.pages += batch.pageCount - duplicates
        state.stats.bytes += MigrationWire.headerLength + MigrationWire.pageBatchPrefixLength + batch.records.count
        state.stats.duplicatePages = (state.stats.duplicatePages ?? 0) + duplicates
        postcopy = state
        report.pagesReceived += batch.pageCount
        return arrived.isEmpty ? [] : [.pagesArrived(arrived)]
    }

    /// `postcopyEnd`: nothing may be missing, and the digest over every page as stored must be the
    /// source's. Then `verified`, and the commit is awaited as after a pre-copy resume.
    mutating func endPostcopy(pages: UInt64, digest: UInt64, now: UInt64) -> [DestinationAction] {
        guard let state = postcopy else { return [] }
        guard state.missingCount == 0 else {
            return protocolFailure(.inconsistent("post-copy ended with \(state.missingCount) pages still missing here"))
        }
        let mine = runningDigest.value
        report.digest = mine
        postcopy?.stats.endedAt = now
        if let started = state.stats.startedAt { postcopy?.stats.durationMs = milliseconds(elapsed(started, now)) }
        guard mine == digest else {
            let reason = "memory digest \(mine) differs from the source's \(digest) after post-copy: the copy is not exact"
            return send(.verifyFailed(reason: reason)) + awaitCoordinator(reason + "; the VM runs here")
        }
        phase = .running
        return send(.verified(digest: mine))
    }

    /// The link failed after the VM resumed here in post-copy: the VM pauses (it would block on its
    /// next missing page anyway) until the migration recovers. Nothing is discarded.
    mutating func pausePostcopy(now: UInt64) -> [DestinationAction] {
        phase = .postcopyPaused
        postcopy?.pausedAt = now
        postcopy?.stats.pauses += 1
        let reason = "connection to the source lost during post-copy with \(missingPageCount) pages missing; the VM is paused here until the migration recovers"
        return [.pauseVM(reason: reason)]
    }

    /// A recovery of this paused migration: the lane hello that opened a new connection must be this
    /// migration's, of a later recovery lane, and prove the key and both handshake nonces. Then the
    /// connection's bytes are sealed with that lane's keys; the destination tells what it lacks,
    /// asks again for the pages its VM waits on, and the VM runs on. Returns nil, changing nothing,
    /// when the hello does not qualify (the driver closes that connection).
    public mutating func recover(with hello: LaneHello, now: UInt64) -> [DestinationAction]? {
        guard phase == .postcopyPaused, var state = postcopy, let memory, let sourceNonce,
              hello.id == settings.migrationID, hello.lane > MigrationWire.recoveryLaneBase,
              hello.lane - MigrationWire.recoveryLaneBase > state.generation,
              hello.isValid(sourceNonce: sourceNonce, destinationNonce: nonce, key: settings.secret) else { return nil }
        state.generation = hello.lane - MigrationWire.recoveryLaneBase
        if let paused = state.pausedAt { state.stats.pausedMs += milliseconds(elapsed(paused, now)) }
        state.pausedAt = nil
        let outstanding = Set(state.requestedAt.keys).union(state.unsentRequests).sorted().map { UInt64($0) }
        state.unsentRequests.removeAll()
        postcopy = state
        channel = cipher == .aes256GCM
            ? SecureChannel(secret: settings.secret, id: settings.migrationID, sourceNonce: sourceNonce, destinationNonce: nonce,
                            role: .destination, lane: Int(hello.lane))
            : nil
        decoder = MigrationDecoder(pageCount: memory.pageCount)
        opened.removeAll()
        phase = .postcopyActive
        let missing = MigrationSource.ranges(of: state.missing, pageCount: memory.pageCount)
        return send(.postcopyRecovered(missing: missing)) + requestPages(outstanding) + [.unpauseVM]
    }


    /// Post-copy's figures so far, with the fault latencies as p50 / p99 / max.
    var postcopyReport: PostcopyStats? {
        guard let state = postcopy else { return nil }
        var stats = state.stats
        let sorted = state.latencies.sorted()
        if !sorted.isEmpty {
            func quantile(_ q: Double) -> Double {
                milliseconds(sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * q).rounded(.up)) - 1))])
            }
            stats.faultLatencyP50Ms = quantile(0.5)
            stats.faultLatencyP99Ms = quantile(0.99)
            stats.faultLatencyMaxMs = milliseconds(sorted.last ?? 0)
        }
        return stats
    }
}
