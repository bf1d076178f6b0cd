import L2Guest

/// Pre-copy: page batches are stored as they come (a zero record costs nothing for a page this
/// migration never wrote), each page hashed into the running digest; each round marker must match
/// what was received.
extension MigrationDestination {
    mutating func apply(_ batch: PageBatch) {
        guard let memory else { return }
        if settings.lanes > 1 { return applyAcrossLanes(batch, memory: memory) }
        var normal = 0
        var running = runningDigest
        receivedHashes.withUnsafeMutableBufferPointer { hashes in
            storedPages.withUnsafeMutableBufferPointer { stored in
                batch.forEachRecord { record in
                    switch record {
                    case let .page(index, contents):
                        memory.storePage(index, from: contents)
                        let hash = memory.pageHash(index)
                        stored[index >> 6] |= UInt64(1) << UInt64(index & 63)
                        normal += 1
                        running.replace(page: index, old: hashes[index], new: hash)
                        hashes[index] = hash
                    case let .zero(pages):
                        Self.clearStored(pages, stored: stored, hashes: hashes, running: &running, memory: memory)
                    }
                }
            }
        }
        runningDigest = running
        roundPages += batch.pageCount
        roundBytes += MigrationWire.headerLength + MigrationWire.pageBatchPrefixLength + batch.records.count
        report.pagesReceived += batch.pageCount
        report.normalPages += normal
        report.zeroPages += batch.pageCount - normal
    }

    /// Zero pages: a page never stored here is zero and has the zero hash, so only the stored pages in
    /// `pages` change; a long range costs a look at one bit word per 64 pages.
    private static func clearStored(_ pages: Range<Int>, stored: UnsafeMutableBufferPointer<UInt64>,
                                    hashes: UnsafeMutableBufferPointer<UInt64>, running: inout PageHash.Running,
                                    memory: GuestMemory) {
        var word = pages.lowerBound >> 6
        while word << 6 < pages.upperBound {
            let first = max(pages.lowerBound, word << 6) - (word << 6)
            let last = min(pages.upperBound, (word + 1) << 6) - (word << 6)
            let mask = (last == 64 ? UInt64.max : (UInt64(1) << UInt64(last)) - 1) & ~((UInt64(1) << UInt64(first)) - 1)
            let hit = stored[word] & mask
            stored[word] &= ~mask
            hit.forEachSetBit { bit in
                let index = word << 6 + bit
                memory.zeroPage(index)
                running.replace(page: index, old: hashes[index], new: PageHash.zeroPage)
                hashes[index] = PageHash.zeroPage
            }
            word += 1
        }
    }


    /// The round marker: its page and byte counts must be what this round delivered.
    mutating func endRound(_ round: UInt32, pages: UInt64, bytes: UInt64) -> [DestinationAction] {
        if markerWaitsForLanes(round, pages: pages, bytes: bytes) { return [] }
        guard round == expectedRound, pages == UInt64(roundPages), bytes == UInt64(roundBytes) else {
            return protocolFailure(.inconsistent("round \(round) ended with \(pages) pages in \(bytes) bytes; received round \(expectedRound) with \(roundPages) pages in \(roundBytes) bytes"))
        }
        expectedRound += 1
        report.rounds += 1
        roundPages = 0
        roundBytes = 0
        takeAheadTally()
        return []
    }
}
