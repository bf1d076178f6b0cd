import L2Wire

/// The pure logic of a learning switch: validates each received frame, puts it in its VLAN, learns
/// its source, decides where it goes and how each copy is encoded, and counts everything.
///
/// No I/O: the caller reads frames from its ports, passes each one in with the ingress port, a
/// monotonic time and its capture frame number, writes the frame where the decision says (encoded as
/// it says), and reports back what it wrote (`recordTransmit`) and what it could not (`recordDrop`).
/// The hot path (`receive`) does not allocate in steady state; on a switch whose ports are all
/// VLAN-unaware it skips the VLAN work entirely.
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
        /// The VLAN mode in plain values, read per frame without reference counting.
        let rule: VLANRule
        let policy: LearnPolicy
        /// Shut by a port security violation; `setPort(up: true)` clears it.
        var errDisabled = false
        /// When the last violation was logged (one event per second, not one per frame).
        var lastViolation: UInt64?
    }

    /// Security violations on one port logged at most this often.
    static let violationLogInterval: UInt64 = 1_000_000_000

    public let configuration: Configuration
    public private(set) var macTable: MACTable
    public internal(set) var eventLog: EventLog
    /// Frames and records that named a port this switch does not have.
    public private(set) var unknownPortFrames: UInt64 = 0
    /// Stations that moved and have not been unicast to since, oldest first (at most
    /// `pendingMoveLimit`): the first unicast to each is reported in `followsMove`.
    private var pendingMoves: [(key: UInt64, move: FollowedMove)] = []
    static let pendingMoveLimit = 64

    var ports: [Port] = []
    var portIndex = PortMap()
    /// Some port is an access port or a trunk: frames are classified into VLANs.
    private(set) var vlanAware = false
    /// Ports differ in MTU: each copy is checked against its egress port's.
    private(set) var mtusDiffer = false
    /// Each trunk's allowed VLANs (with its native one) as 64 words, at `rule.bits`.
    var allowedBits: [UInt64] = []
    /// Flooding domains: up member ports in port order. [0] is VLAN 0 (the unaware ports).
    var floodLists: [[FloodMember]] = [[]]
    /// VLAN id → index into `floodLists`; empty while no port is VLAN-aware.
    var floodListOfVLAN: [Int32] = []
    /// Per-VLAN counters by VLAN id (4096 of them); empty while no port is VLAN-aware.
    public private(set) var vlanCounters: [VLANCounters] = []

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        macTable = MACTable(configuration: configuration.macTable)
        eventLog = EventLog(capacity: configuration.eventLogCapacity)
    }

    // MARK: ports

    /// Adds a port. MTU must be 68...65535; VLAN ids 1...4094; port security (1...4096 MACs) on
    /// unaware and access ports only.
    public mutating func addPort(_ id: PortID, _ portConfiguration: PortConfiguration) throws(SwitchError) {
        if let existing = portIndex[id] { throw .duplicatePort(id, existingName: ports[existing].configuration.name) }
        guard (68...65535).contains(portConfiguration.mtu) else { throw .invalidMTU(port: id, mtu: portConfiguration.mtu) }
        try portConfiguration.vlanMode.validate(port: id)
        var policy = LearnPolicy.open
        if let security = portConfiguration.security {
            if case .trunk = portConfiguration.vlanMode { throw .securityOnTrunk(port: id) }
            guard PortSecurity.maximumMACRange.contains(security.maximumMACs) else {
                throw .invalidSecurityLimit(port: id, maximum: security.maximumMACs)
            }
            policy = LearnPolicy(maximumEntries: security.maximumMACs, sticky: security.sticky)
        }
        let rule = addRule(for: portConfiguration.vlanMode)
        portIndex.set(id, ports.count)
        ports.append(Port(id: id, configuration: portConfiguration, rule: rule, policy: policy))
        vlanAware = vlanAware || portConfiguration.vlanMode.isAware
        if vlanAware && vlanCounters.isEmpty { vlanCounters = Array(repeating: VLANCounters(), count: 4096) }
        mtusDiffer = Set(ports.map(\.configuration.mtu)).count > 1
        rebuildFloodLists()
    }

    /// Sets a port's admin state. A down port drops what it receives and what is unicast to it, and
    /// is left out of floods. Its MAC entries stay until they age out (use `flush(port:)` to clear).
    /// Setting it up also re-enables a port that a security violation shut.
    public mutating func setPort(_ id: PortID, up: Bool) throws(SwitchError) {
        let index = try index(of: id)
        ports[index].configuration.isUp = up
        if up { ports[index].errDisabled = false }
        rebuildFloodLists()
    }

    /// Every port, in port order.
    public var portIDs: [PortID] { ports.map(\.id).sorted() }

    public func configuration(of port: PortID) -> PortConfiguration? {
        portIndex[port].map { ports[$0].configuration }
    }

    public func counters(of port: PortID) -> PortCounters? {
        portIndex[port].map { ports[$0].counters }
    }

    /// Whether a port security violation shut `port` (it stays down until set up).
    public func isErrDisabled(_ port: PortID) -> Bool {
        portIndex[port].map { ports[$0].errDisabled } ?? false
    }

    /// Where a `.flood` decision for an untagged frame received on `ingress` goes: the ports of its
    /// VLAN (the access or native VLAN; the unaware ports for an unaware port; none for a trunk
    /// without a native VLAN, which drops untagged frames).
    public func floodTargets(from ingress: PortID) -> FloodTargets {
        let vlan = portIndex[ingress].map { ports[$0].configuration.vlanMode.untaggedVLAN } ?? 0
        return FloodTargets(members: vlan.map(floodMembers) ?? [], ingress: ingress, vlan: vlan ?? 0, taggedOnIngress: false, payloadLength: 0)
    }

    /// Where a `.flood` decision goes: the up ports of the frame's VLAN but `ingress`, leaving out
    /// those whose MTU it exceeds; `encoded` says how each copy is written.
    @inline(__always)
    public func floodTargets(for result: ForwardingResult, from ingress: PortID) -> FloodTargets {
        FloodTargets(members: floodMembers(of: result.vlan), ingress: ingress, vlan: result.vlan,
                     taggedOnIngress: result.taggedOnIngress, payloadLength: result.payloadLength)
    }

    // MARK: the frame path

    /// Decides what to do with one frame received on `port` at `now` (monotonic nanoseconds);
    /// `frameNumber` is the frame's index in the segment capture and goes into any event.
    ///
    /// Order: ingress admin state, length checks, source check, the VLAN (access, trunk), learning
    /// (hold-down, port security), then the destination in that VLAN. A frame is learned from even
    /// if its destination filters it (`sameSegment`) or is down. A frame from a port the switch
    /// does not have is dropped as `.portDown` and counted in `unknownPortFrames`.
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
        let headerLength = tagged ? 18 : 14
        guard wireLength <= ports[ingress].configuration.mtu + headerLength else { return drop(.oversize, on: ingress) }

        let source = MACAddress(bytes: frame, at: 6)
        guard !source.isMulticast, !source.isZero else { return drop(.badSource, on: ingress) }

        var vlan: UInt16 = 0
        if vlanAware {
            switch classify(frame, tagged: tagged, ingress: ingress) {
            case let .vlan(id): vlan = id
            case let .drop(reason): return drop(reason, on: ingress)
            }
            vlanCounters[Int(vlan)].frames += 1
            vlanCounters[Int(vlan)].bytes += UInt64(length)
        }
        let payloadLength = wireLength - headerLength

        var event: SwitchEvent? = nil
        var evicted: MACTableEntry? = nil
        var flapped = false
        switch macTable.learn(source, vlan: vlan, on: port, at: now, policy: ports[ingress].policy) {
        case .refreshed, .ignored:
            break
        case let .learned(dropped):
            evicted = dropped
            if configuration.logsLearning {
                event = eventLog.append(SwitchEvent(kind: .learned, time: now, mac: source, oldPort: nil,
                                                    newPort: port, frameNumber: frameNumber, vlan: vlan))
            }
        case let .moved(from, to):
            event = logMove(source, vlan: vlan, from: from, to: to, at: now, frameNumber: frameNumber)
        case let .flapped(from, to, moves, span):
            event = logMove(source, vlan: vlan, from: from, to: to, at: now, frameNumber: frameNumber)
            eventLog.append(SwitchEvent(kind: .flap, time: now, mac: source, oldPort: from, newPort: to, frameNumber: frameNumber,
                                        vlan: vlan, flap: .init(moves: moves, span: span)))
            flapped = true
        case let .moveIgnored(stays, seen, first):
            ports[ingress].counters.movesIgnored += 1
            if first {
                event = eventLog.append(SwitchEvent(kind: .moveIgnored, time: now, mac: source, oldPort: stays,
                                                    newPort: seen, frameNumber: frameNumber, vlan: vlan))
            }
        case .limitReached:
            return securityViolation(source, vlan: vlan, on: ingress, at: now, frameNumber: frameNumber, tagged: tagged)
        }

        let destination = MACAddress(bytes: frame, at: 0)
        guard !destination.isMulticast, let known = macTable.port(of: destination, vlan: vlan, at: now) else {
            ports[ingress].counters.floodedFrames += 1
            if vlanAware { vlanCounters[Int(vlan)].floods += 1 }
            let result = ForwardingResult(decision: .flood, event: event, evicted: evicted, vlan: vlan, taggedOnIngress: tagged,
                                          payloadLength: payloadLength, flapped: flapped)
            if mtusDiffer { countTooSmall(for: result, from: port) }
            return result
        }
        var reason: DropReason? = nil
        var egress = EgressEncoding.keep
        if known == port {
            reason = .sameSegment
        } else if let index = portIndex[known], ports[index].configuration.isUp {
            if vlanAware {
                if let form = egressForm(of: index, for: vlan) {
                    egress = form.encoding(vlan: vlan, taggedOnIngress: tagged)
                } else {
                    reason = .vlanNotAllowed
                }
            }
            if mtusDiffer, payloadLength > ports[index].configuration.mtu { reason = .oversize }
        } else {
            reason = .portDown
        }
        if let reason {
            ports[ingress].counters.rxDrops[reason] += 1
            return ForwardingResult(decision: .drop(reason), event: event, evicted: evicted, vlan: vlan, taggedOnIngress: tagged,
                                    payloadLength: payloadLength, flapped: flapped)
        }
        ports[ingress].counters.unicastFrames += 1
        let followed = pendingMoves.isEmpty ? nil : takePendingMove(MACTable.key(destination, vlan))
        return ForwardingResult(decision: .unicast(known), event: event, evicted: evicted, followsMove: followed, vlan: vlan,
                                taggedOnIngress: tagged, payloadLength: payloadLength, egress: egress, flapped: flapped)
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

    mutating func drop(_ reason: DropReason, on ingress: Int) -> ForwardingResult {
        ports[ingress].counters.rxDrops[reason] += 1
        return ForwardingResult(decision: .drop(reason))
    }

    private mutating func logMove(_ mac: MACAddress, vlan: UInt16, from: PortID, to: PortID, at now: UInt64,
                                  frameNumber: UInt64) -> SwitchEvent {
        notePendingMove(MACTable.key(mac, vlan), FollowedMove(was: from, movedAt: frameNumber), to: to)
        return eventLog.append(SwitchEvent(kind: .moved, time: now, mac: mac, oldPort: from, newPort: to,
                                           frameNumber: frameNumber, vlan: vlan))
    }

    private mutating func notePendingMove(_ key: UInt64, _ move: FollowedMove, to newPort: PortID) {
        if let existing = pendingMoves.firstIndex(where: { $0.key == key }) {
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
        pendingMoves.append((key, move))
    }

    @inline(never)
    private mutating func takePendingMove(_ key: UInt64) -> FollowedMove? {
        guard let index = pendingMoves.firstIndex(where: { $0.key == key }) else { return nil }
        return pendingMoves.remove(at: index).move
    }
}
