import L2Wire

extension TCPStack {
    /// Sends what the windows allow: new or (after an RTO) resent data up to min(peer window, cwnd)
    /// in segments of at most the MSS, the FIN once all output is queued and sent, else an ACK if
    /// one is due. Arms the retransmission and persist timers.
    mutating func transmit(_ block: inout TCPControlBlock, slot: Int, ackNow: Bool, run: inout Run) {
        var sent = false
        switch block.state {
        case .established, .closeWait, .finWait1, .closing, .lastAck:
            run.table.fillPattern(slot, block: &block)
            sent = sendData(&block, slot: slot, run: &run)
        default:
            break
        }
        let grown = block.rcvNxt &+ block.receiveWindow &- block.advertisedEdge
        let windowUpdate = TCPSequence.gt(block.rcvNxt &+ block.receiveWindow, block.advertisedEdge)
            && grown >= min(block.mss, UInt32(TCPTuning.receiveBufferBytes / 2))
        if !sent, block.state != .synReceived, ackNow || windowUpdate {
            emit(&block, seq: block.sndNxt, flags: .ack, run: &run)
        }
    }

    private mutating func sendData(_ block: inout TCPControlBlock, slot: Int, run: inout Run) -> Bool {
        var sent = false
        while true {
            let dataEnd = block.dataEnd
            let inFlight = block.sndNxt &- block.sndUna
            let allowed = min(block.sndWnd, block.cwnd)
            let usable = allowed > inFlight ? allowed - inFlight : 0
            let unsent = TCPSequence.lt(block.sndNxt, dataEnd) ? dataEnd &- block.sndNxt : 0
            let length = min(unsent, block.mss, usable)
            let fin = block.finQueued && TCPSequence.le(block.sndNxt, dataEnd) && block.sndNxt &+ length == dataEnd
            if length == 0, !fin { break }
            // Sender silly-window avoidance: no runt segment while data is in flight.
            if length < block.mss, length < unsent, inFlight > 0 { break }
            let payload = run.table.ringBytes(slot, block: block, offset: Int(block.sndNxt &- block.sndUna), count: Int(length))
            var flags: TCPFlags = .ack
            if length > 0, block.sndNxt &+ length == dataEnd { flags.insert(.psh) }
            if fin { flags.insert(.fin) }
            if TCPSequence.lt(block.sndNxt, block.sndMax) { statistics.retransmissions += 1 }
            let end = block.sndNxt &+ length &+ (fin ? 1 : 0)
            if !block.rttActive, block.sndNxt == block.sndMax {
                block.rttActive = true
                block.rttSeq = end
                block.rttTime = run.now
            }
            emit(&block, seq: block.sndNxt, flags: flags, payload: payload, run: &run)
            block.sndNxt = end
            if TCPSequence.gt(end, block.sndMax) { block.sndMax = end }
            if block.retransmitDeadline == 0 { block.retransmitDeadline = run.now + block.retransmitTimeout }
            sent = true
            if fin {
                block.finSent = true
                if block.state == .established { block.state = .finWait1 }
                if block.state == .closeWait { block.state = .lastAck }
                break
            }
        }
        let unsent = TCPSequence.lt(block.sndNxt, block.dataEnd) ? block.dataEnd &- block.sndNxt : 0
        if block.sndWnd == 0, unsent > 0, block.sndNxt == block.sndUna {
            if block.persistDeadline == 0 { block.persistDeadline = run.now + persistInterval(block) }
        } else {
            block.persistDeadline = 0
            block.persistBackoff = 0
        }
        return sent
    }

    /// The persist timer: the RTO, doubled per unanswered probe, within 200 ms...60 s.
    func persistInterval(_ block: TCPControlBlock) -> UInt64 {
        let shift = UInt64(min(block.persistBackoff, 16))
        return min(TCPTuning.maximumRTO, max(TCPTuning.minimumRTO, block.rto << shift))
    }

    /// Fast retransmit: one segment at snd.una (with the FIN when it is the last of the output).
    mutating func retransmitHead(_ block: inout TCPControlBlock, slot: Int, run: inout Run) {
        let length = min(block.ringLength, block.mss)
        let fin = block.finSent && length == block.ringLength && !block.finAcknowledged
        guard length > 0 || fin else { return }
        var flags: TCPFlags = .ack
        if fin { flags.insert(.fin) }
        if length > 0, length == block.ringLength { flags.insert(.psh) }
        statistics.retransmissions += 1
        emit(&block, seq: block.sndUna, flags: flags,
             payload: run.table.ringBytes(slot, block: block, offset: 0, count: Int(length)), run: &run)
        block.retransmitDeadline = run.now + block.retransmitTimeout
    }
}
