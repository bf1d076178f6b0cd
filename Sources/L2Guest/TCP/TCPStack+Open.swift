import L2Wire

extension TCPStack {
    /// A segment that matches no connection (RFC 9293 3.10.7.1/2): a SYN opens one if a service
    /// listens on the port; anything else but a RST is answered with a RST.
    mutating func handleUnknown(_ segment: TCPSegment, from remote: IPAddress, to local: IPAddress, run: inout Run) {
        let flags = segment.flags
        if flags.contains(.rst) {
            statistics.droppedInvalid += 1
        } else if flags.contains(.syn), !flags.contains(.ack) {
            open(segment, from: remote, to: local, run: &run)
        } else {
            sendReset(for: segment, from: remote, to: local, run: &run)
        }
    }

    /// Passive open: a SYN to a service port takes a slot (a free one, else the oldest TIME-WAIT,
    /// else the oldest half-open one) and is answered with a SYN-ACK. Data on the SYN is not taken
    /// (no TCP Fast Open): the peer sends it again after the handshake.
    mutating func open(_ segment: TCPSegment, from remote: IPAddress, to local: IPAddress, run: inout Run) {
        guard run.services.contains(where: { $0.port == segment.destinationPort }) else {
            statistics.connectionsRefused += 1
            sendReset(for: segment, from: remote, to: local, run: &run)
            return
        }
        let table = run.table
        let slot: Int
        if let free = table.freeSlot {
            slot = free
        } else if let recycled = table.oldest(in: .timeWait) {
            release(recycled, previous: table.load(recycled), table: table)
            statistics.timeWaitRecycled += 1
            slot = recycled
        } else if let halfOpen = table.oldest(in: .synReceived) {
            release(halfOpen, previous: table.load(halfOpen), table: table)
            statistics.synEvicted += 1
            slot = halfOpen
        } else {
            statistics.droppedTableFull += 1
            return
        }

        let options = TCPSynOptions(segment.options)
        let ourMSS = ourMSS(local)
        let defaultMSS = local.family == 6 ? TCPTuning.defaultMSSv6 : TCPTuning.defaultMSSv4
        var block = TCPControlBlock()
        block.state = .synReceived
        block.local = local
        block.remote = remote
        block.localPort = segment.destinationPort
        block.remotePort = segment.sourcePort
        block.irs = segment.sequenceNumber
        block.rcvNxt = segment.sequenceNumber &+ 1
        block.iss = table.initialSequenceNumber(local: local, localPort: block.localPort, remote: remote,
                                                remotePort: block.remotePort, now: run.now)
        block.sndUna = block.iss
        block.sndNxt = block.iss
        block.sndMax = block.iss
        block.sndWnd = UInt32(segment.window) // never scaled in a SYN (RFC 7323 2.2)
        block.sndWl1 = segment.sequenceNumber
        block.sndWl2 = block.iss
        block.mss = max(64, min(options.mss.map(UInt32.init) ?? defaultMSS, ourMSS))
        if let shift = options.windowShift {
            block.windowScaling = true
            block.sendShift = shift
            block.receiveShift = TCPTuning.receiveShift
        }
        block.sackPermitted = false // offered SACK is declined: we do not send the option back
        block.cwnd = TCPTuning.initialWindowSegments * block.mss
        block.ssthresh = UInt32.max
        block.rto = TCPTuning.initialRTO
        block.created = run.now
        block.lastProgress = run.now
        sendSynAck(&block, run: &run)
        table.store(block, slot: slot, previous: nil)
    }

    /// The SYN-ACK at iss: MSS, and window scale only when the peer offered it. Starts the RTT
    /// sample and the retransmission timer.
    mutating func sendSynAck(_ block: inout TCPControlBlock, run: inout Run) {
        let ourMSS = UInt16(ourMSS(block.local))
        var options: [UInt8] = [2, 4, UInt8(ourMSS >> 8), UInt8(ourMSS & 0xFF)]
        if block.windowScaling { options += [1, 3, 3, block.receiveShift] }
        emit(&block, seq: block.iss, flags: [.syn, .ack], options: options, run: &run)
        block.sndNxt = block.iss &+ 1
        block.sndMax = block.sndNxt
        if block.backoff == 0 {
            block.rttActive = true
            block.rttSeq = block.sndNxt
            block.rttTime = run.now
        }
        block.retransmitDeadline = run.now + block.retransmitTimeout
    }
}
