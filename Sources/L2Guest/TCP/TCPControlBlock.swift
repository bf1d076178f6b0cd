import L2Wire

/// One connection's control block (RFC 9293 section 3.3.1), as it lies in page 0 of its slot: one
/// little-endian 64-bit word per field, in `Word` order. The stack loads it at the start of handling
/// a segment or a timer and stores back only the words that changed, so dirty tracking marks the
/// page exactly when the connection changed. No copy survives the call: guest memory is the state.
struct TCPControlBlock: Equatable {
    /// Word index of each field in the control block page.
    enum Word: Int, CaseIterable {
        case state, family, localHigh, localLow, remoteHigh, remoteLow, ports
        case iss, sndUna, sndNxt, sndMax, sndWnd, sndWl1, sndWl2
        case irs, rcvNxt, advertisedEdge
        case mss, shifts, cwnd, ssthresh, dupAcks, recover, inRecovery
        case srtt, rttvar, rto, rttSeq, rttTime, rttActive
        case retransmitDeadline, backoff, persistDeadline, persistBackoff, timeWaitDeadline
        case delayedAckDeadline, unackedSegments
        case flags
        case rcvFill, ringHead, ringLength, patternOffset, patternRemaining
        case bytesIn, bytesOut, created, lastProgress
    }

    /// Bits of `Word.flags`.
    enum Flag: UInt64 {
        case finReceived = 1
        case finSent = 2
        case closeAfterSend = 4
        case windowScaling = 8
        case sackPermitted = 16
        case finAcknowledged = 32
    }

    var state: TCPConnectionState = .closed
    var local: IPAddress = .v4(.any)
    var remote: IPAddress = .v4(.any)
    var localPort: UInt16 = 0
    var remotePort: UInt16 = 0
    var iss: UInt32 = 0
    var sndUna: UInt32 = 0
    var sndNxt: UInt32 = 0
    /// The highest sequence number sent so far (snd.nxt goes back to snd.una after an RTO).
    var sndMax: UInt32 = 0
    /// The peer's window in bytes (already scaled).
    var sndWnd: UInt32 = 0
    var sndWl1: UInt32 = 0
    var sndWl2: UInt32 = 0
    var irs: UInt32 = 0
    var rcvNxt: UInt32 = 0
    /// rcv.nxt + window in the last segment we sent: the right edge never moves left.
    var advertisedEdge: UInt32 = 0
    /// Largest payload we send (the peer's MSS, at most ours).
    var mss: UInt32 = 536
    /// The peer's window-scale shift (applied to windows it sends) and ours.
    var sendShift: UInt8 = 0
    var receiveShift: UInt8 = 0
    var cwnd: UInt32 = 0
    var ssthresh: UInt32 = 0
    var dupAcks: UInt32 = 0
    var recover: UInt32 = 0
    var inRecovery = false
    var srtt: UInt64 = 0
    var rttvar: UInt64 = 0
    var rto: UInt64 = TCPTuning.initialRTO
    var rttSeq: UInt32 = 0
    var rttTime: UInt64 = 0
    var rttActive = false
    /// Deadlines are guest-clock nanoseconds; 0 means not armed.
    var retransmitDeadline: UInt64 = 0
    var backoff: UInt32 = 0
    var persistDeadline: UInt64 = 0
    var persistBackoff: UInt32 = 0
    var timeWaitDeadline: UInt64 = 0
    var delayedAckDeadline: UInt64 = 0
    /// Full-sized segments received since we last sent an ACK.
    var unackedSegments: UInt32 = 0
    var finReceived = false
    var finSent = false
    var closeAfterSend = false
    var windowScaling = false
    var sackPermitted = false
    /// Our FIN was sent and acknowledged.
    var finAcknowledged = false
    /// Unread bytes at the start of the receive buffer.
    var rcvFill: UInt32 = 0
    /// Ring offset of the byte at snd.una, and the bytes held from there (sent or not).
    var ringHead: UInt32 = 0
    var ringLength: UInt32 = 0
    /// `PatternStream` output still to generate into the ring.
    var patternOffset: UInt64 = 0
    var patternRemaining: UInt64 = 0
    var bytesIn: UInt64 = 0
    var bytesOut: UInt64 = 0
    var created: UInt64 = 0
    var lastProgress: UInt64 = 0

    init() {}

    /// Loads the control block at guest byte offset `offset`.
    init(memory: GuestMemory, at offset: Int) {
        self.init(words: Word.allCases.map { memory.loadUInt64(at: offset + 8 * $0.rawValue) })
    }

    /// Whether the timers have anything to do for the block at `offset` at `now`: an armed deadline
    /// that has passed, or no progress for as long as the shortest idle timeout. Reads six words, so
    /// the every-millisecond tick does not decode every connection's whole block.
    static func isDue(memory: GuestMemory, at offset: Int, now: UInt64) -> Bool {
        func word(_ word: Word) -> UInt64 { memory.loadUInt64(at: offset + 8 * word.rawValue) }
        for deadline in [Word.retransmitDeadline, .persistDeadline, .timeWaitDeadline, .delayedAckDeadline] {
            let value = word(deadline)
            if value != 0 && now >= value { return true }
        }
        let lastProgress = word(.lastProgress)
        let shortestIdle = min(TCPTuning.partialRequestTimeout, TCPTuning.finWait2Timeout, TCPTuning.idleTimeout)
        return now >= lastProgress && now - lastProgress >= shortestIdle
    }

    /// Stores the words that differ from `previous` (the block as loaded).
    func store(to memory: GuestMemory, at offset: Int, previous: TCPControlBlock?) {
        let new = words
        let old = previous?.words
        for (index, word) in new.enumerated() where old?[index] != word {
            memory.storeUInt64(word, at: offset + 8 * index)
        }
    }

    init(words: [UInt64]) {
        func w(_ word: Word) -> UInt64 { words[word.rawValue] }
        func u32(_ word: Word) -> UInt32 { UInt32(truncatingIfNeeded: w(word)) }
        state = TCPConnectionState(rawValue: UInt8(truncatingIfNeeded: w(.state))) ?? .closed
        let family = w(.family)
        local = Self.address(family: family, high: w(.localHigh), low: w(.localLow))
        remote = Self.address(family: family, high: w(.remoteHigh), low: w(.remoteLow))
        localPort = UInt16(truncatingIfNeeded: w(.ports))
        remotePort = UInt16(truncatingIfNeeded: w(.ports) >> 16)
        iss = u32(.iss); sndUna = u32(.sndUna); sndNxt = u32(.sndNxt); sndMax = u32(.sndMax)
        sndWnd = u32(.sndWnd); sndWl1 = u32(.sndWl1); sndWl2 = u32(.sndWl2)
        irs = u32(.irs); rcvNxt = u32(.rcvNxt); advertisedEdge = u32(.advertisedEdge)
        mss = u32(.mss)
        sendShift = UInt8(truncatingIfNeeded: w(.shifts)); receiveShift = UInt8(truncatingIfNeeded: w(.shifts) >> 8)
        cwnd = u32(.cwnd); ssthresh = u32(.ssthresh); dupAcks = u32(.dupAcks); recover = u32(.recover)
        inRecovery = w(.inRecovery) != 0
        srtt = w(.srtt); rttvar = w(.rttvar); rto = w(.rto); rttSeq = u32(.rttSeq); rttTime = w(.rttTime)
        rttActive = w(.rttActive) != 0
        retransmitDeadline = w(.retransmitDeadline); backoff = u32(.backoff)
        persistDeadline = w(.persistDeadline); persistBackoff = u32(.persistBackoff)
        timeWaitDeadline = w(.timeWaitDeadline); delayedAckDeadline = w(.delayedAckDeadline)
        unackedSegments = u32(.unackedSegments)
        let flags = w(.flags)
        finReceived = flags & Flag.finReceived.rawValue != 0
        finSent = flags & Flag.finSent.rawValue != 0
        closeAfterSend = flags & Flag.closeAfterSend.rawValue != 0
        windowScaling = flags & Flag.windowScaling.rawValue != 0
        sackPermitted = flags & Flag.sackPermitted.rawValue != 0
        finAcknowledged = flags & Flag.finAcknowledged.rawValue != 0
        rcvFill = u32(.rcvFill); ringHead = u32(.ringHead); ringLength = u32(.ringLength)
        patternOffset = w(.patternOffset); patternRemaining = w(.patternRemaining)
        bytesIn = w(.bytesIn); bytesOut = w(.bytesOut); created = w(.created); lastProgress = w(.lastProgress)
    }

    var words: [UInt64] {
        var words = [UInt64](repeating: 0, count: Word.allCases.count)
        func set(_ word: Word, _ value: UInt64) { words[word.rawValue] = value }
        set(.state, UInt64(state.rawValue))
        let (family, localHigh, localLow) = Self.words(local)
        let (_, remoteHigh, remoteLow) = Self.words(remote)
        set(.family, family)
        set(.localHigh, localHigh); set(.localLow, localLow)
        set(.remoteHigh, remoteHigh); set(.remoteLow, remoteLow)
        set(.ports, UInt64(localPort) | UInt64(remotePort) << 16)
        set(.iss, UInt64(iss)); set(.sndUna, UInt64(sndUna)); set(.sndNxt, UInt64(sndNxt)); set(.sndMax, UInt64(sndMax))
        set(.sndWnd, UInt64(sndWnd)); set(.sndWl1, UInt64(sndWl1)); set(.sndWl2, UInt64(sndWl2))
        set(.irs, UInt64(irs)); set(.rcvNxt, UInt64(rcvNxt)); set(.advertisedEdge, UInt64(advertisedEdge))
        set(.mss, UInt64(mss)); set(.shifts, UInt64(sendShift) | UInt64(receiveShift) << 8)
        set(.cwnd, UInt64(cwnd)); set(.ssthresh, UInt64(ssthresh)); set(.dupAcks, UInt64(dupAcks))
        set(.recover, UInt64(recover)); set(.inRecovery, inRecovery ? 1 : 0)
        set(.srtt, srtt); set(.rttvar, rttvar); set(.rto, rto); set(.rttSeq, UInt64(rttSeq)); set(.rttTime, rttTime)
        set(.rttActive, rttActive ? 1 : 0)
        set(.retransmitDeadline, retransmitDeadline); set(.backoff, UInt64(backoff))
        set(.persistDeadline, persistDeadline); set(.persistBackoff, UInt64(persistBackoff))
        set(.timeWaitDeadline, timeWaitDeadline); set(.delayedAckDeadline, delayedAckDeadline)
        set(.unackedSegments, UInt64(unackedSegments))
        var flags: UInt64 = 0
        if finReceived { flags |= Flag.finReceived.rawValue }
        if finSent { flags |= Flag.finSent.rawValue }
        if closeAfterSend { flags |= Flag.closeAfterSend.rawValue }
        if windowScaling { flags |= Flag.windowScaling.rawValue }
        if sackPermitted { flags |= Flag.sackPermitted.rawValue }
        if finAcknowledged { flags |= Flag.finAcknowledged.rawValue }
        set(.flags, flags)
        set(.rcvFill, UInt64(rcvFill)); set(.ringHead, UInt64(ringHead)); set(.ringLength, UInt64(ringLength))
        set(.patternOffset, patternOffset); set(.patternRemaining, patternRemaining)
        set(.bytesIn, bytesIn); set(.bytesOut, bytesOut); set(.created, created); set(.lastProgress, lastProgress)
        return words
    }

    static func words(_ address: IPAddress) -> (family: UInt64, high: UInt64, low: UInt64) {
        switch address {
        case let .v4(v4): (4, 0, UInt64(v4.rawValue))
        case let .v6(v6): (6, v6.high, v6.low)
        }
    }

    static func address(family: UInt64, high: UInt64, low: UInt64) -> IPAddress {
        family == 6 ? .v6(IPv6Address(high: high, low: low)) : .v4(IPv4Address(rawValue: UInt32(truncatingIfNeeded: low)))
    }

    /// The retransmission timeout in force: the RTO from the RTT estimate (RFC 6298; 1 s before
    /// any sample), doubled per expiry since the last ACK of new data, at most 60 s. Keeping the
    /// backoff as a count (BSD's `t_rxtshift`) rather than doubling the RTO itself means an ACK
    /// that advances snd.una restores the estimate at once; with Karn's rule and no timestamps a
    /// doubled RTO would otherwise last until an unambiguous sample, which on a lossy path (every
    /// segment a retransmission) never comes: measured, 5 % loss took 50-100 s for 300 KB.
    var retransmitTimeout: UInt64 {
        min(TCPTuning.maximumRTO, rto << UInt64(min(backoff, 16)))
    }

    /// Bytes in flight: sent and not yet acknowledged (the FIN counts one).
    var flight: UInt32 { sndNxt &- sndUna }
    /// The sequence number just past the last byte of output held in the ring.
    var dataEnd: UInt32 { sndUna &+ ringLength }
    /// Free bytes in the receive buffer: the window we offer.
    var receiveWindow: UInt32 { UInt32(TCPTuning.receiveBufferBytes) - rcvFill }
    var ringFree: Int { TCPTuning.sendRingBytes - Int(ringLength) }
    /// The FIN goes out once every byte of output is in the ring.
    var finQueued: Bool { closeAfterSend && patternRemaining == 0 }
}
