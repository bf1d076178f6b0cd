import L2Wire

/// The VM's TCP endpoint (RFC 9293, passive open only): every connection's state and buffers live
/// in guest memory (`TCPLayout`), so copying the memory moves the connections, and a fresh stack on
/// the other host continues them from the copied pages. The struct itself holds only the region,
/// the MTU and host-side statistics.
///
/// Pure: time is the guest clock passed in (nanoseconds of VM running time; it stops while the VM
/// is stunned and moves with it), and the only randomness is the ISN key, derived from the guest's
/// boot record when the table is first used and kept in the table's header page.
public struct TCPStack {
    public let region: NetworkRegion
    /// The MTU of the VM's interface; our MSS is `mtu - 40` over IPv4 and `mtu - 60` over IPv6.
    public let mtu: Int
    /// Host-side counters (internal setter: the stack's extensions in other files count too).
    public internal(set) var statistics = TCPStatistics()
    let layout: TCPLayout

    public init(region: NetworkRegion, mtu: Int = 1500) {
        precondition(mtu >= 1280 && mtu <= 65_535, "an MTU of \(mtu) is outside 1280...65535")
        self.region = region
        self.mtu = mtu
        layout = TCPLayout(region: region)
    }

    /// A segment for one of our addresses; the caller has verified the checksum and the IP header.
    public mutating func receive(_ segment: TCPSegment, from remote: IPAddress, to local: IPAddress,
                                 now: UInt64, memory: GuestMemory, services: [any TCPService],
                                 context: ServiceContext) -> [TCPOutgoingSegment] {
        statistics.segmentsReceived += 1
        guard local.family == remote.family, segment.sourcePort != 0, segment.destinationPort != 0 else {
            statistics.droppedInvalid += 1
            return []
        }
        guard Self.flagsAreSane(segment.flags) else {
            statistics.droppedBadFlags += 1
            return []
        }
        let table = TCPTable(layout: layout, memory: memory)
        table.initialiseIfNeeded()
        var run = Run(table: table, now: now, services: services, context: context)
        if let slot = table.lookup(local: local, localPort: segment.destinationPort,
                                   remote: remote, remotePort: segment.sourcePort) {
            let previous = table.load(slot)
            var block = previous
            switch process(segment, block: &block, slot: slot, run: &run) {
            case .keep:
                table.store(block, slot: slot, previous: previous)
            case .free:
                release(slot, previous: previous, table: table)
            case .reopen:
                release(slot, previous: previous, table: table)
                statistics.timeWaitRecycled += 1
                open(segment, from: remote, to: local, run: &run)
            }
        } else {
            handleUnknown(segment, from: remote, to: local, run: &run)
        }
        return run.out
    }

    /// Open connections read back from guest memory (for status listings).
    public func connections(in memory: GuestMemory) -> [TCPConnectionSummary] {
        let table = TCPTable(layout: layout, memory: memory)
        guard table.isInitialised else { return [] }
        return table.usedSlots.compactMap { slot in
            let block = table.load(slot)
            guard block.state != .closed else { return nil }
            return TCPConnectionSummary(slot: slot, state: block.state, local: block.local, localPort: block.localPort,
                                        remote: block.remote, remotePort: block.remotePort,
                                        bytesIn: block.bytesIn, bytesOut: block.bytesOut, created: block.created)
        }
    }

    /// The guest pages handling `segment` may touch: the table header page, then the slot pages of
    /// the connection it belongs to or, for a SYN, of the slot it would take (and page 0, the boot
    /// record, before the table's first use). Reads only the header page and page 0 (the caller makes
    /// those resident first). Services' pages (`region.servicePages`)
    /// are not included: a segment with payload may run a service, which may touch any of them.
    public func pages(touchedBy segment: TCPSegment, from remote: IPAddress, to local: IPAddress,
                      memory: GuestMemory) -> [Int] {
        let table = TCPTable(layout: layout, memory: memory)
        var pages = [layout.headerPage]
        let matches = table.candidates(local: local, localPort: segment.destinationPort,
                                       remote: remote, remotePort: segment.sourcePort)
        var slots = matches
        if matches.isEmpty || matches.contains(where: { table.state($0) == .timeWait }),
           segment.flags.contains(.syn), !segment.flags.contains(.ack) {
            if let slot = table.isInitialised ? (table.freeSlot ?? table.oldest(in: .timeWait) ?? table.oldest(in: .synReceived))
                                              : 0 {
                slots.append(slot)
            }
        }
        for slot in slots { pages += layout.pages(ofSlot: slot) }
        // The first segment ever initialises the table from the boot record.
        if !table.isInitialised { pages.append(GuestLayout.bootRecordOffset >> GuestMemory.pageShift) }
        return pages
    }

    // MARK: - shared pieces

    /// The work of one call: the table, the clock, the services and what to send.
    struct Run {
        let table: TCPTable
        let now: UInt64
        let services: [any TCPService]
        let context: ServiceContext
        var out: [TCPOutgoingSegment] = []
    }

    /// What happens to a connection's slot after a segment or a timer.
    enum Disposition {
        case keep
        case free
        /// TIME-WAIT ended by a new SYN on the same 4-tuple: free the slot and open anew.
        case reopen
    }

    /// SYN+FIN, SYN+RST and a segment without any of SYN/ACK/RST are never valid.
    static func flagsAreSane(_ flags: TCPFlags) -> Bool {
        if flags.contains(.syn), !flags.isDisjoint(with: [.fin, .rst]) { return false }
        return !flags.isDisjoint(with: [.syn, .ack, .rst])
    }

    /// Our MSS for the family at this MTU.
    func ourMSS(_ address: IPAddress) -> UInt32 { UInt32(mtu - (address.family == 6 ? 60 : 40)) }

    mutating func release(_ slot: Int, previous: TCPControlBlock, table: TCPTable) {
        if previous.state != .synReceived { statistics.connectionsClosed += 1 }
        table.free(slot, previous: previous)
    }

    /// Builds and counts a segment of a connection, acknowledging rcv.nxt and advertising the free
    /// receive buffer when ACK is set.
    mutating func emit(_ block: inout TCPControlBlock, seq: UInt32, flags: TCPFlags, payload: [UInt8] = [],
                       options: [UInt8] = [], run: inout Run) {
        let window: UInt32 = flags.contains(.rst) ? 0
            : flags.contains(.syn) ? min(block.receiveWindow, 65_535)
            : min(block.receiveWindow >> UInt32(block.receiveShift), 65_535)
        let bytes = TCPSegment.build(source: block.local, destination: block.remote, sourcePort: block.localPort,
                                     destinationPort: block.remotePort, sequenceNumber: seq,
                                     acknowledgmentNumber: flags.contains(.ack) ? block.rcvNxt : 0, flags: flags,
                                     window: UInt16(window), options: options, payload: payload)
        if flags.contains(.ack) {
            block.advertisedEdge = block.rcvNxt &+ (window << UInt32(flags.contains(.syn) ? 0 : block.receiveShift))
            block.delayedAckDeadline = 0
            block.unackedSegments = 0
        }
        if flags.contains(.rst) { statistics.resetsSent += 1 }
        statistics.segmentsSent += 1
        run.out.append(TCPOutgoingSegment(local: block.local, remote: block.remote, segment: bytes))
    }

    /// A reset outside any connection (RFC 9293 3.10.7.1): `<SEQ=ack>` when the offending segment
    /// had ACK, else `<SEQ=0><ACK=seq+len><CTL=RST,ACK>`.
    mutating func sendReset(for segment: TCPSegment, from remote: IPAddress, to local: IPAddress, run: inout Run) {
        let flags = segment.flags
        let length = UInt32(segment.payload.count) + (flags.contains(.syn) ? 1 : 0) + (flags.contains(.fin) ? 1 : 0)
        let bytes: [UInt8]
        if flags.contains(.ack) {
            bytes = TCPSegment.build(source: local, destination: remote, sourcePort: segment.destinationPort,
                                     destinationPort: segment.sourcePort, sequenceNumber: segment.acknowledgmentNumber,
                                     flags: .rst, window: 0)
        } else {
            bytes = TCPSegment.build(source: local, destination: remote, sourcePort: segment.destinationPort,
                                     destinationPort: segment.sourcePort, sequenceNumber: 0,
                                     acknowledgmentNumber: segment.sequenceNumber &+ length, flags: [.rst, .ack], window: 0)
        }
        statistics.resetsSent += 1
        statistics.segmentsSent += 1
        run.out.append(TCPOutgoingSegment(local: local, remote: remote, segment: bytes))
    }

    /// Aborts a connection: RST at snd.nxt (RFC 9293 3.10.5 ABORT).
    mutating func abort(_ block: inout TCPControlBlock, run: inout Run) {
        emit(&block, seq: block.sndNxt, flags: .rst, run: &run)
    }
}
