import L2Wire

/// One MAC table row for the control plane, as JSON:
/// `{"mac":"00:50:56:00:00:10","port":2,"port_name":"p2","age_ms":1500,"moves":1}`.
public struct MACTableEntrySnapshot: Hashable, Sendable, Codable {
    public var mac: MACAddress
    public var port: PortID
    public var portName: String
    public var ageMs: UInt64
    public var moves: Int

    public init(mac: MACAddress, port: PortID, portName: String, ageMs: UInt64, moves: Int) {
        self.mac = mac
        self.port = port
        self.portName = portName
        self.ageMs = ageMs
        self.moves = moves
    }

    enum CodingKeys: String, CodingKey {
        case mac, port, moves
        case portName = "port_name"
        case ageMs = "age_ms"
    }
}

/// One port's configuration and counters for the control plane, with snake_case JSON keys.
public struct PortCountersSnapshot: Hashable, Sendable, Codable {
    public var port: PortID
    public var name: String
    public var up: Bool
    public var mtu: Int
    public var macCount: Int
    public var rxFrames: UInt64
    public var rxBytes: UInt64
    public var unicastFrames: UInt64
    public var floodedFrames: UInt64
    public var rxDrops: DropCounters
    public var txFrames: UInt64
    public var txBytes: UInt64
    public var txDrops: DropCounters

    public init(port: PortID, configuration: PortConfiguration, counters: PortCounters, macCount: Int) {
        self.port = port
        name = configuration.name
        up = configuration.isUp
        mtu = configuration.mtu
        self.macCount = macCount
        rxFrames = counters.rxFrames
        rxBytes = counters.rxBytes
        unicastFrames = counters.unicastFrames
        floodedFrames = counters.floodedFrames
        rxDrops = counters.rxDrops
        txFrames = counters.txFrames
        txBytes = counters.txBytes
        txDrops = counters.txDrops
    }

    enum CodingKeys: String, CodingKey {
        case port, name, up, mtu
        case macCount = "mac_count"
        case rxFrames = "rx_frames"
        case rxBytes = "rx_bytes"
        case unicastFrames = "unicast_frames"
        case floodedFrames = "flooded_frames"
        case rxDrops = "rx_drops"
        case txFrames = "tx_frames"
        case txBytes = "tx_bytes"
        case txDrops = "tx_drops"
    }
}

/// One logged switch event for the control plane, with snake_case JSON keys; `old_port` is absent
/// for `learned`.
public struct SwitchEventSnapshot: Hashable, Sendable, Codable {
    public var sequence: UInt64
    public var kind: SwitchEvent.Kind
    public var timeNs: UInt64
    public var mac: MACAddress
    public var oldPort: PortID?
    public var oldPortName: String?
    public var newPort: PortID
    public var newPortName: String
    public var frameNumber: UInt64

    public init(_ event: SwitchEvent, portName: (PortID) -> String) {
        sequence = event.sequence
        kind = event.kind
        timeNs = event.time
        mac = event.mac
        oldPort = event.oldPort
        oldPortName = event.oldPort.map(portName)
        newPort = event.newPort
        newPortName = portName(event.newPort)
        frameNumber = event.frameNumber
    }

    enum CodingKeys: String, CodingKey {
        case sequence, kind, mac
        case timeNs = "time_ns"
        case oldPort = "old_port"
        case oldPortName = "old_port_name"
        case newPort = "new_port"
        case newPortName = "new_port_name"
        case frameNumber = "frame_number"
    }
}

/// A page of event snapshots read with a cursor: pass `next` back to read on; `missed` counts events
/// the ring dropped before they were read.
public struct SwitchEventPageSnapshot: Hashable, Sendable, Codable {
    public var events: [SwitchEventSnapshot]
    public var next: UInt64
    public var missed: UInt64

    public init(events: [SwitchEventSnapshot], next: UInt64, missed: UInt64) {
        self.events = events
        self.next = next
        self.missed = missed
    }
}

extension SwitchCore {
    /// The display name of `port` (its configured name, or `p<n>` if the switch does not have it).
    public func name(of port: PortID) -> String { configuration(of: port)?.name ?? port.description }

    /// The MAC table as rows valid at `now`, sorted by port then MAC.
    public func macTableSnapshot(at now: UInt64) -> [MACTableEntrySnapshot] {
        macTable.entries(at: now).map {
            MACTableEntrySnapshot(mac: $0.mac, port: $0.port, portName: name(of: $0.port),
                                  ageMs: $0.age(at: now) / 1_000_000, moves: $0.moves)
        }
    }

    /// Every port's configuration and counters, in port order.
    public func portCountersSnapshot() -> [PortCountersSnapshot] {
        portIDs.compactMap { port in
            guard let configuration = configuration(of: port), let counters = counters(of: port) else { return nil }
            return PortCountersSnapshot(port: port, configuration: configuration, counters: counters,
                                        macCount: macTable.count(on: port))
        }
    }

    /// Logged events with sequence ≥ `cursor`, as snapshots.
    public func eventSnapshots(since cursor: UInt64) -> SwitchEventPageSnapshot {
        let batch = events(since: cursor)
        return SwitchEventPageSnapshot(events: batch.events.map { SwitchEventSnapshot($0, portName: name(of:)) },
                                       next: batch.next, missed: batch.missed)
    }
}
