import L2Wire

extension TCPStack {
    /// Timers: retransmission (RFC 6298), persist (zero-window probes), delayed ACKs, TIME-WAIT
    /// expiry and idle cleanup. Deadlines are guest-clock values in each connection's control block.
    public mutating func tick(now: UInt64, memory: GuestMemory, services: [any TCPService],
                              context: ServiceContext) -> [TCPOutgoingSegment] {
        let table = TCPTable(layout: layout, memory: memory)
        guard table.isInitialised else { return [] }
        var run = Run(table: table, now: now, services: services, context: context)
        for slot in table.usedSlots where TCPControlBlock.isDue(memory: memory, at: layout.controlBlock(slot), now: now) {
            let previous = table.load(slot)
            guard previous.state != .closed else { continue }
            var block = previous
            switch expire(&block, slot: slot, run: &run) {
            case .keep: table.store(block, slot: slot, previous: previous)
            case .free, .reopen: release(slot, previous: previous, table: table)
            }
        }
        return run.out
    }

    /// The earliest armed deadline of every open connection (guest clock), or nil: when the caller
    /// next needs to call `tick`.
    public func nextDeadline(in memory: GuestMemory) -> UInt64? {
        let table = TCPTable(layout: layout, memory: memory)
        guard table.isInitialised else { return nil }
        return table.usedSlots.compactMap { slot -> UInt64? in
            let block = table.load(slot)
            let deadlines = [block.retransmitDeadline, block.persistDeadline, block.timeWaitDeadline,
                             block.delayedAckDeadline].filter { $0 != 0 }
            return deadlines.min()
        }.min()
    }

    private mutating func expire(_ block: inout TCPControlBlock, slot: Int, run: inout Run) -> Disposition {
        let now = run.now
        if block.state == .timeWait {
            return block.timeWaitDeadline != 0 && now >= block.timeWaitDeadline ? .free : .keep
        }
        let quiet = now >= block.lastProgress ? now - block.lastProgress : 0
        if block.state == .finWait2, quiet >= TCPTuning.finWait2Timeout {
            statistics.idleResets += 1
            return .free
        }
        if block.state.servesInput,
           (block.rcvFill > 0 && quiet >= TCPTuning.partialRequestTimeout) || quiet >= TCPTuning.idleTimeout {
            statistics.idleResets += 1
            abort(&block, run: &run)
            return .free
        }

        if block.retransmitDeadline != 0, now >= block.retransmitDeadline {
            statistics.timeouts += 1
            if block.state == .synReceived {
                guard block.backoff < TCPTuning.maximumSynAckRetransmissions else {
                    statistics.synAckTimeouts += 1
                    return .free
                }
                block.backoff += 1
                block.rttActive = false
                statistics.retransmissions += 1
                sendSynAck(&block, run: &run)
                return .keep
            }
            guard block.backoff < TCPTuning.maximumRetransmissions else {
                statistics.retransmissionLimitResets += 1
                abort(&block, run: &run)
                return .free
            }
            // RFC 6298 5.5-5.6 and RFC 5681 3.1: back off, collapse cwnd, go back to snd.una.
            let flight = block.sndMax &- block.sndUna
            block.ssthresh = max(flight / 2, 2 * block.mss)
            block.cwnd = block.mss
            block.inRecovery = false
            block.dupAcks = 0
            block.backoff += 1
            block.rttActive = false
            block.sndNxt = block.sndUna
            block.retransmitDeadline = 0
            transmit(&block, slot: slot, ackNow: false, run: &run)
            if block.retransmitDeadline == 0, block.sndMax != block.sndUna {
                block.retransmitDeadline = now + block.retransmitTimeout
            }
        }

        if block.persistDeadline != 0, now >= block.persistDeadline {
            let unsent = TCPSequence.lt(block.sndNxt, block.dataEnd)
            if block.sndWnd == 0, unsent {
                // A zero-window probe: one already-acknowledged sequence number, which the peer
                // must answer with an ACK carrying its current window.
                statistics.persistProbes += 1
                emit(&block, seq: block.sndUna &- 1, flags: .ack, run: &run)
                block.persistBackoff += 1
                block.persistDeadline = now + persistInterval(block)
            } else {
                block.persistDeadline = 0
                block.persistBackoff = 0
            }
        }

        if block.delayedAckDeadline != 0, now >= block.delayedAckDeadline {
            emit(&block, seq: block.sndNxt, flags: .ack, run: &run)
        }
        return .keep
    }
}
