import L2Wire

extension TCPStack {
    /// A segment for an existing connection (RFC 9293 3.10.7.4, in its order: sequence check, RST,
    /// SYN, ACK, data, FIN), then the service and the output it allows.
    mutating func process(_ segment: TCPSegment, block: inout TCPControlBlock, slot: Int, run: inout Run) -> Disposition {
        let flags = segment.flags
        let seq = segment.sequenceNumber
        var payload = segment.payload
        var fin = flags.contains(.fin)

        if block.state == .synReceived, flags.contains(.syn), !flags.contains(.ack), seq == block.irs {
            // The peer did not get our SYN-ACK: send it again (the RTT sample is lost, Karn).
            block.rttActive = false
            block.backoff = max(block.backoff, 1)
            statistics.retransmissions += 1
            sendSynAck(&block, run: &run)
            return .keep
        }
        if block.state == .timeWait, flags.contains(.syn), !flags.contains(.ack), TCPSequence.gt(seq, block.rcvNxt) {
            return .reopen
        }

        // 1. Sequence number acceptable? (RFC 9293 3.10.7.4, first check)
        let window = block.receiveWindow
        let length = UInt32(payload.count) + (flags.contains(.syn) ? 1 : 0) + (fin ? 1 : 0)
        guard Self.isAcceptable(seq: seq, length: length, rcvNxt: block.rcvNxt, window: window) else {
            statistics.droppedOutOfWindow += 1
            if !flags.contains(.rst) { emit(&block, seq: block.sndNxt, flags: .ack, run: &run) }
            if block.state == .timeWait, fin {
                // The peer's FIN again: our last ACK was lost. ACKed above; 2×MSL starts over.
                block.timeWaitDeadline = run.now + TCPTuning.timeWait
            }
            return .keep
        }

        // 2. RST: exact match resets, otherwise a challenge ACK (RFC 5961 3.2).
        if flags.contains(.rst) {
            guard seq == block.rcvNxt else {
                statistics.challengeAcks += 1
                emit(&block, seq: block.sndNxt, flags: .ack, run: &run)
                return .keep
            }
            statistics.resetsReceived += 1
            return .free
        }
        // 4. SYN in a synchronized state (or a new one in SYN-RECEIVED): challenge ACK (RFC 5961 4.2).
        if flags.contains(.syn) {
            statistics.challengeAcks += 1
            emit(&block, seq: block.sndNxt, flags: .ack, run: &run)
            return .keep
        }
        // 5. ACK is required from here on.
        guard flags.contains(.ack) else {
            statistics.droppedBadFlags += 1
            return .keep
        }

        // Trim what was already received from the front, what does not fit from the back.
        if TCPSequence.lt(seq, block.rcvNxt) {
            let skip = Int(block.rcvNxt &- seq)
            payload = payload.dropFirst(min(skip, payload.count))
        }
        let start = TCPSequence.lt(seq, block.rcvNxt) ? block.rcvNxt : seq
        if payload.count > Int(window) {
            payload = payload.prefix(Int(window))
            fin = false
        }

        let ack = segment.acknowledgmentNumber
        if block.state == .synReceived {
            guard TCPSequence.lt(block.sndUna, ack), TCPSequence.le(ack, block.sndMax) else {
                sendReset(for: segment, from: block.remote, to: block.local, run: &run)
                return .keep
            }
            block.state = .established
            statistics.connectionsOpened += 1
            if block.rttActive, TCPSequence.ge(ack, block.rttSeq) {
                Self.sampleRTT(&block, sample: run.now >= block.rttTime ? run.now - block.rttTime : 0)
            }
            block.sndUna = ack
            block.sndWnd = UInt32(segment.window) << UInt32(block.sendShift)
            block.sndWl1 = seq
            block.sndWl2 = ack
            block.backoff = 0
            block.retransmitDeadline = 0
            block.lastProgress = run.now
        }

        var ackNow = false
        switch acknowledge(segment, ack: ack, block: &block, slot: slot, run: &run) {
        case .acceptable: break
        case .ahead:
            statistics.droppedBadAck += 1
            emit(&block, seq: block.sndNxt, flags: .ack, run: &run)
            return .keep
        case .finished:
            return .free
        }

        // 7. Segment text, in order only: out-of-order data is dropped and the duplicate ACK tells
        // the peer (three of them make it retransmit at once).
        if !payload.isEmpty || fin {
            if start != block.rcvNxt {
                statistics.droppedOutOfOrder += 1
                ackNow = true
                fin = false
            } else if !payload.isEmpty {
                if block.state.acceptsData, block.closeAfterSend {
                    // Closing: nothing will read it. Acknowledge and discard (not progress).
                    block.rcvNxt = block.rcvNxt &+ UInt32(payload.count)
                    block.bytesIn += UInt64(payload.count)
                    ackNow = true
                } else if block.state.acceptsData {
                    run.table.appendReceived(payload, slot: slot, block: &block)
                    block.rcvNxt = block.rcvNxt &+ UInt32(payload.count)
                    block.bytesIn += UInt64(payload.count)
                    block.lastProgress = run.now
                    if payload.count >= Int(block.mss) { block.unackedSegments += 1 }
                    if flags.contains(.psh) || block.unackedSegments >= 2 { ackNow = true }
                    if block.delayedAckDeadline == 0 { block.delayedAckDeadline = run.now + TCPTuning.delayedAck }
                } else {
                    fin = false // data after the peer's FIN: ignored (RFC 9293 3.10.7.4)
                }
            }
        }

        // 8. FIN.
        if fin {
            block.rcvNxt = block.rcvNxt &+ 1
            block.finReceived = true
            block.lastProgress = run.now
            ackNow = true
            switch block.state {
            case .synReceived, .established: block.state = .closeWait
            case .finWait1: block.state = block.finAcknowledged ? .timeWait : .closing
            case .finWait2: block.state = .timeWait
            default: break
            }
            if block.state == .timeWait { block.timeWaitDeadline = run.now + TCPTuning.timeWait }
        }

        switch serve(&block, slot: slot, run: &run) {
        case .reset:
            statistics.serviceResets += 1
            abort(&block, run: &run)
            return .free
        case .consumed: ackNow = true
        case .idle: break
        }
        transmit(&block, slot: slot, ackNow: ackNow, run: &run)
        return .keep
    }

    /// RFC 9293 3.10.7.4 first check, for a receive window of `window` bytes.
    static func isAcceptable(seq: UInt32, length: UInt32, rcvNxt: UInt32, window: UInt32) -> Bool {
        func inWindow(_ s: UInt32) -> Bool { TCPSequence.le(rcvNxt, s) && TCPSequence.lt(s, rcvNxt &+ window) }
        switch (length, window) {
        case (0, 0): return seq == rcvNxt
        case (0, _): return inWindow(seq)
        case (_, 0): return false
        default: return inWindow(seq) || inWindow(seq &+ length &- 1)
        }
    }

    enum AckOutcome { case acceptable, ahead, finished }

    /// The ACK field (RFC 9293 3.10.7.4 fifth check) with RFC 5681 congestion control and NewReno
    /// fast recovery (RFC 6582), RFC 6298 RTT samples, and the send-window update.
    mutating func acknowledge(_ segment: TCPSegment, ack: UInt32, block: inout TCPControlBlock, slot: Int,
                              run: inout Run) -> AckOutcome {
        guard TCPSequence.le(ack, block.sndMax) else { return .ahead }
        let scaledWindow = UInt32(segment.window) << UInt32(block.sendShift)
        let seq = segment.sequenceNumber

        if TCPSequence.lt(block.sndUna, ack) {
            let acked = ack &- block.sndUna
            let dataAcked = min(acked, block.ringLength)
            run.table.releaseFromRing(dataAcked, block: &block)
            if block.finSent, acked > dataAcked { block.finAcknowledged = true }
            block.sndUna = ack
            if TCPSequence.lt(block.sndNxt, ack) { block.sndNxt = ack }
            block.bytesOut += UInt64(dataAcked)
            block.lastProgress = run.now
            if block.rttActive, TCPSequence.ge(ack, block.rttSeq) {
                Self.sampleRTT(&block, sample: run.now >= block.rttTime ? run.now - block.rttTime : 0)
            }
            let mss = block.mss
            if block.inRecovery {
                if TCPSequence.ge(ack, block.recover) {
                    block.inRecovery = false
                    block.cwnd = max(mss, min(block.ssthresh, block.flight + mss))
                } else {
                    // Partial ACK: the next hole is at the new snd.una.
                    retransmitHead(&block, slot: slot, run: &run)
                    block.cwnd = (block.cwnd > acked ? block.cwnd - acked : 0) + mss
                }
            } else if block.cwnd < block.ssthresh {
                block.cwnd = block.cwnd &+ min(acked, mss)
            } else {
                block.cwnd = block.cwnd &+ max(1, mss * mss / max(block.cwnd, 1))
            }
            block.dupAcks = 0
            block.backoff = 0
            block.persistBackoff = 0
            block.retransmitDeadline = block.sndMax == block.sndUna ? 0 : run.now + block.retransmitTimeout
        } else if ack == block.sndUna, segment.payload.isEmpty, !segment.flags.contains(.fin),
                  scaledWindow == block.sndWnd, block.sndMax != block.sndUna {
            block.dupAcks += 1
            if block.dupAcks == 3, !block.inRecovery {
                statistics.fastRetransmits += 1
                let flight = block.sndMax &- block.sndUna
                block.ssthresh = max(flight / 2, 2 * block.mss)
                block.recover = block.sndMax
                block.inRecovery = true
                block.rttActive = false
                retransmitHead(&block, slot: slot, run: &run)
                block.cwnd = block.ssthresh + 3 * block.mss
            } else if block.inRecovery {
                block.cwnd = block.cwnd &+ block.mss
            }
        }

        if TCPSequence.le(block.sndUna, ack),
           TCPSequence.lt(block.sndWl1, seq) || (block.sndWl1 == seq && TCPSequence.le(block.sndWl2, ack)) {
            block.sndWnd = scaledWindow
            block.sndWl1 = seq
            block.sndWl2 = ack
            if scaledWindow > 0 { block.persistDeadline = 0 }
        }

        if block.finAcknowledged {
            switch block.state {
            case .finWait1:
                block.state = .finWait2
            case .closing:
                block.state = .timeWait
                block.timeWaitDeadline = run.now + TCPTuning.timeWait
            case .lastAck:
                return .finished
            default: break
            }
        }
        return .acceptable
    }

    /// RFC 6298 2.2/2.3, with Linux's 200 ms floor.
    static func sampleRTT(_ block: inout TCPControlBlock, sample: UInt64) {
        let r = max(sample, 1)
        if block.srtt == 0 {
            block.srtt = r
            block.rttvar = r / 2
        } else {
            let delta = block.srtt > r ? block.srtt - r : r - block.srtt
            block.rttvar = (3 * block.rttvar + delta) / 4
            block.srtt = (7 * block.srtt + r) / 8
        }
        block.rto = min(TCPTuning.maximumRTO,
                        max(TCPTuning.minimumRTO, block.srtt + max(TCPTuning.millisecond, 4 * block.rttvar)))
        block.rttActive = false
    }
}
