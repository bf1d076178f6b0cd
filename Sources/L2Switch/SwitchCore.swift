import L2Wire

/// Where a received frame goes.
public enum ForwardingDecision: Hashable, Sendable, CustomStringConvertible {
    /// Deliver nowhere; the reason is already counted on the ingress port.
    case drop(DropReason)
    /// Deliver to this one port.
    case unicast(PortID)
    /// Deliver to every up port except the ingress port (`SwitchCore.floodTargets(from:)`).
    case flood

    public var description: String {
        switch self {
        case let .drop(reason): "drop (\(reason))"
        case let .unicast(port): "to \(port)"
        case .flood: "flood"
        }
    }
}

/// The switch's answer for one frame: the decision, and the learning event it caused, if any
/// (already appended to the event log).
public struct ForwardingResult: Hashable, Sendable {
    public var decision: ForwardingDecision
    public var event: SwitchEvent?
    /// The entry the table dropped to learn this frame's source (the table was full).
    public var evicted: MACTableEntry?
    /// For the first unicast to a station since it moved: the port it was on and the frame that
    /// moved it (what a capture comment says next to the frame).
    public var followsMove: FollowedMove?

    public init(decision: ForwardingDecision, event: SwitchEvent? = nil, evicted: MACTableEntry? = nil, followsMove: FollowedMove? = nil) {
        self.decision = decision
        self.event = event
        self.evicted = evicted
        self.followsMove = followsMove
    }
}

/// Where a moved station was before its move, and the frame that moved it.
public struct FollowedMove: Hashable, Sendable {
    public var was: PortID
    public var movedAt: UInt64

    public init(was: PortID, movedAt: UInt64) {
        self.was = was
        self.movedAt = movedAt
    }
}

/// A port configuration request the switch cannot carry out, with what to do instead.
public enum SwitchError: Error, Hashable, Sendable, CustomStringConvertible {
    case unknownPort(PortID, known: [PortID])
    case duplicatePort(PortID, existingName: String)
    case invalidMTU(port: PortID, mtu: Int)

    public var description: String {
        switch self {
        case let .unknownPort(port, known):
            "port \(port) does not exist on this switch (it has: \(known.map(\.description).joined(separator: ", ")))"
        case let .duplicatePort(port, name):
            "port \(port) already exists (named \"\(name)\"); choose another port number"
        case let .invalidMTU(port, mtu):
            "port \(port): MTU \(mtu) is out of range; use 68...65535"
        }
    }
}

/// The ports of the switch that a flood goes to: every up port except the ingress one.
///
/// Holds a reference to the switch's list of up ports (no copy, no allocation); iterate it while
/// calling `recordTransmit` freely.
public struct FloodTargets: Sequence, Sendable {
    let upPorts: [PortID]
    let ingress: PortID

    /// Yields the up ports in port order, skipping the ingress port.
    public struct Iterator: IteratorProtocol {
        var base: IndexingIterator<[PortID]>
        let ingress: PortID
        public mutating func next() -> PortID? {
            while let port = base.next() {
                if port != ingress { return port }
            }
            return nil
        }
    }

    public func makeIterator() -> Iterator { Iterator(base: upPorts.makeIterator(), ingress: ingress) }
}

/// The pure logic of a learning switch: validates each received frame, learns its source, decides
/// where it goes, and counts everything.
///
/// No I/O: the caller reads frames from its ports, passes each one in with the ingress port, a
/// monotonic time and its capture frame number, writes the frame where the decision says, and
/// reports back what it wrote (`recordTransmit`) and what it could not (`recordDrop`). The hot path
/// (`receive`) does not allocate in steady state.
public struct SwitchCore: Sendable {
    /// MAC table settings and event logging.
    public struct Configuration: Hashable, Sendable {
        public var macTable: MACTable.Configuration
        public var eventLogCapacity: Int
        /// Log `learned` events as well as moves (a flood of random sources then churns the log).
        public var logsLearning: Bool

        public init(macTable: MACTable.Configuration = .init(), eventLogCapacity: Int = EventLog.defaultCapacity,
                    logsLearning: Bool = true)
        {
            self.macTable = macTable
            self.eventLogCapacity = eventLogCapacity
            self.logsLearning = logsLearning
        }
    }

    struct Port {
        let id: PortID
        var configuration: PortConfiguration
        var counters = PortCounters()
    }

    public let configuration: Configuration
    public private(set) var macTable: MACTable
    public private(set) var eventLog: EventLog
    /// Frames and records that named a port this switch does not have.
    public private(set) var unknownPortFrames: UInt64 = 0
    /// Stations that moved and have not been unicast to since, oldest first (at most
    /// `pendingMoveLimit`): the first unicast to each is reported in `followsMove`.
    private var pendingMoves: [(mac: MACAddress, move: FollowedMove)] = []
    static let pendingMoveLimit = 64

    private var ports: [Port] = []
    private var portIndex = PortMap()
    /// Up ports in port order; replaced only when a port is added or changes state.
    private var upPorts: [PortID] = []

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        macTable = MACTable(configuration: configuration.macTable)
        eventLog = EventLog(capacity: configuration.eventLogCapacity)
    }

    // MARK: ports

    /// Adds a port. MTU must be 68...65535.
    public mutating func addPort(_ id: PortID, _ portConfiguration: PortConfiguration) throws(SwitchError) {
        if let existing = portIndex[id] { throw .duplicatePort(id, existingName: ports[existing].configuration.name) }
        guard (68...65535).contains(portConfiguration.mtu) else { throw .invalidMTU(port: id, mtu: portConfiguration.mtu) }
        portIndex.set(id, ports.count)
        ports.append(Port(id: id, configuration: portConfiguration))
        rebuildUpPorts()
    }

    /// Sets a port's admin state. A down port drops what it receives and what is unicast to it, and
    /// is left out of floods. Its MAC entries stay until they age out (use `flush(port:)` to clear).
    public mutating func setPort(_ id: PortID, up: Bool) throws(SwitchError) {
        let index = try index(of: id)
        ports[index].configuration.isUp = up
        rebuildUpPorts()
    }

    /// Every port, in port order.
    public var portIDs: [PortID] { ports.map(\.id).sorted() }

    public func configuration(of port: PortID) -> PortConfiguration? {
        portIndex[port].map { ports[$0].configuration }
    }

    public func counters(of port: PortID) -> PortCounters? {
        portIndex[port].map { ports[$0].counters }
    }

    /// Where a `.flood` decision for a frame received on `ingress` goes.
    public func floodTargets(from ingress: PortID) -> FloodTargets {
        FloodTargets(upPorts: upPorts, ingress: ingress)
    }

    // MARK: the frame path

    /// Decides what to do with one frame received on `port` at `now` (monotonic nanoseconds);
    /// `frameNumber` is the frame's index in the segment capture and goes into any event.
    ///
    /// Order: ingress admin state, length checks, source check, learning, then the destination.
    /// A frame is learned from even if its destination filters it (`sameSegment`) or is down.
    /// A frame from a port the switch does not have is dropped as `.portDown` and counted in
    /// `unknownPortFrames`.
    ///
    /// `offload` is the frame's virtio-net header when the port passes offloads (a TAP opened with
    /// `IFF_VNET_HDR`), already checked against the frame by the caller: a header that does not fit
    /// the frame is dropped as `.badOffload`, and a GSO super-frame passes the MTU check when each
    /// segment it stands for would.
    public mutating func receive(_ frame: UnsafeRawBufferPointer, on port: PortID, at now: UInt64,
                                 frameNumber: UInt64, checkedOffload offload: CheckedOffload?) -> ForwardingResult
    {
        guard let ingress = portIndex[port] else {
            unknownPortFrames += 1
            return ForwardingResult(decision: .drop(.portDown))
        }
        let length = frame.count
        ports[ingress].counters.rxFrames += 1
        ports[ingress].counters.rxBytes += UInt64(length)

        guard ports[ingress].configuration.isUp else { return drop(.portDown, on: ingress) }
        guard length >= 14 else { return drop(.runt, on: ingress) }
        let etherType = UInt16(frame[12]) << 8 | UInt16(frame[13])
        let tagged = etherType == EtherType.vlan.rawValue
        guard !tagged || length >= 18 else { return drop(.runt, on: ingress) }
        var wireLength = length
        if let offload {
            guard offload.fitsFrame else { return drop(.badOffload, on: ingress) }
            wireLength = offload.header.largestWireFrame(of: frame)
        }
        guard wireLength <= ports[ingress].configuration.mtu + (tagged ? 18 : 14) else { return drop(.oversize, on: ingress) }

        let source = MACAddress(bytes: frame, at: 6)
        guard !source.isMulticast, !source.isZero else { return drop(.badSource, on: ingress) }

        var event: SwitchEvent? = nil
        var evicted: MACTableEntry? = nil
        switch macTable.learn(source, on: port, at: now) {
        case .refreshed, .ignored:
            break
        case let .learned(dropped):
            evicted = dropped
            if configuration.logsLearning {
                event = eventLog.append(SwitchEvent(kind: .learned, time: now, mac: source, oldPort: nil,
                                                    newPort: port, frameNumber: frameNumber))
            }
        case let .moved(from, to):
            event = eventLog.append(SwitchEvent(kind: .moved, time: now, mac: source, oldPort: from,
                                                newPort: to, frameNumber: frameNumber))
            notePendingMove(source, FollowedMove(was: from, movedAt: frameNumber), to: to)
        }

        let destination = MACAddress(bytes: frame, at: 0)
        guard !destination.isMulticast, let known = macTable.lookup(destination, at: now) else {
            ports[ingress].counters.floodedFrames += 1
            return ForwardingResult(decision: .flood, event: event, evicted: evicted)
        }
        guard known.port != port else {
            return ForwardingResult(decision: drop(.sameSegment, on: ingress).decision, event: event, evicted: evicted)
        }
        guard let egress = portIndex[known.port], ports[egress].configuration.isUp else {
            return ForwardingResult(decision: drop(.portDown, on: ingress).decision, event: event, evicted: evicted)
        }
        ports[ingress].counters.unicastFrames += 1
        let followed = pendingMoves.isEmpty ? nil : takePendingMove(destination)
        return ForwardingResult(decision: .unicast(known.port), event: event, evicted: evicted, followsMove: followed)
    }

    /// `receive` with an unchecked virtio-net header, checked here.
    public mutating func receive(_ frame: UnsafeRawBufferPointer, on port: PortID, at now: UInt64,
                                 frameNumber: UInt64, offload: VirtioNetHeader? = nil) -> ForwardingResult {
        receive(frame, on: port, at: now, frameNumber: frameNumber,
                checkedOffload: offload.map { CheckedOffload($0, checkedAgainst: frame) })
    }

    /// `receive` for a frame held in an array (tests, tools); the hot path passes a buffer.
    public mutating func receive(_ frame: [UInt8], on port: PortID, at now: UInt64, frameNumber: UInt64,
                                 offload: VirtioNetHeader? = nil) -> ForwardingResult {
        frame.withUnsafeBytes { receive($0, on: port, at: now, frameNumber: frameNumber, offload: offload) }
    }

    /// Records that the caller wrote a frame of `bytes` bytes to `port`.
    public mutating func recordTransmit(port: PortID, bytes: Int) {
        guard let index = portIndex[port] else {
            unknownPortFrames += 1
            return
        }
        ports[index].counters.txFrames += 1
        ports[index].counters.txBytes += UInt64(bytes)
    }

    /// Records that the caller could not write a frame to `port` (normally `.queueFull`).
    public mutating func recordDrop(port: PortID, reason: DropReason) {
        guard let index = portIndex[port] else {
            unknownPortFrames += 1
            return
        }
        ports[index].counters.txDrops[reason] += 1
    }

    // MARK: table maintenance

    /// Removes the MAC entries idle longer than the aging time; call it now and then (e.g. each second).
    public mutating func expire(now: UInt64) -> [MACTableEntry] { macTable.expire(now: now) }

    /// Removes the MAC entries on `port`; returns how many.
    @discardableResult
    public mutating func flush(port: PortID) -> Int { macTable.flush(port: port) }

    /// Removes every MAC entry; returns how many.
    @discardableResult
    public mutating func flush() -> Int { macTable.flush() }

    /// Logged events with sequence ≥ `cursor` (see `EventLog`).
    public func events(since cursor: UInt64) -> EventLog.Batch { eventLog.events(since: cursor) }

    // MARK: internals

    private func index(of port: PortID) throws(SwitchError) -> Int {
        guard let index = portIndex[port] else { throw .unknownPort(port, known: portIDs) }
        return index
    }

    private mutating func drop(_ reason: DropReason, on ingress: Int) -> ForwardingResult {
        ports[ingress].counters.rxDrops[reason] += 1
        return ForwardingResult(decision: .drop(reason))
    }

    private mutating func notePendingMove(_ mac: MACAddress, _ move: FollowedMove, to newPort: PortID) {
        if let existing = pendingMoves.firstIndex(where: { $0.mac == mac }) {
            // Moved again before anyone sent it a frame: back where it was, there is nothing to
            // follow; elsewhere, it "was" where it was first, until this latest move.
            if pendingMoves[existing].move.was == newPort {
                pendingMoves.remove(at: existing)
            } else {
                pendingMoves[existing].move.movedAt = move.movedAt
            }
            return
        }
        if pendingMoves.count == Self.pendingMoveLimit { pendingMoves.removeFirst() }
        pendingMoves.append((mac, move))
    }

    @inline(never)
    private mutating func takePendingMove(_ mac: MACAddress) -> FollowedMove? {
        guard let index = pendingMoves.firstIndex(where: { $0.mac == mac }) else { return nil }
        return pendingMoves.remove(at: index).move
    }

    private mutating func rebuildUpPorts() {
        upPorts = ports.filter(\.configuration.isUp).map(\.id).sorted()
    }
}
