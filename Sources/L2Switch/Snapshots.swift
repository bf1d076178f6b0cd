import L2Wire

/// One MAC table row for the control plane, as JSON:
/// `{"mac":"00:50:56:00:00:10","port":2,"port_name":"p2","age_ms":1500,"moves":1}`, with `"vlan":10`
/// when learned in a VLAN and `"sticky":true` for a sticky entry (an unaware switch's rows are as
/// they always were).
public struct MACTableEntrySnapshot: Hashable, Sendable, Codable {
    public var mac: MACAddress
    public var port: PortID
    public var portName: String
    public var ageMs: UInt64
    public var moves: Int
    /// 0 on VLAN-unaware ports.
    public var vlan: UInt16
    public var sticky: Bool

    public init(mac: MACAddress, port: PortID, portName: String, ageMs: UInt64, moves: Int, vlan: UInt16 = 0, sticky: Bool = false) {
        self.mac = mac
        self.port = port
        self.portName = portName
        self.ageMs = ageMs
        self.moves = moves
        self.vlan = vlan
        self.sticky = sticky
    }

    enum CodingKeys: String, CodingKey {
        case mac, port, moves, vlan, sticky
        case portName = "port_name"
        case ageMs = "age_ms"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mac = try container.decode(MACAddress.self, forKey: .mac)
        port = try container.decode(PortID.self, forKey: .port)
        portName = try container.decode(String.self, forKey: .portName)
        ageMs = try container.decode(UInt64.self, forKey: .ageMs)
        moves = try container.decode(Int.self, forKey: .moves)
        vlan = try container.decodeIfPresent(UInt16.self, forKey: .vlan) ?? 0
        sticky = try container.decodeIfPresent(Bool.self, forKey: .sticky) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mac, forKey: .mac)
        try container.encode(port, forKey: .port)
        try container.encode(portName, forKey: .portName)
        try container.encode(ageMs, forKey: .ageMs)
        try container.encode(moves, forKey: .moves)
        if vlan != 0 { try container.encode(vlan, forKey: .vlan) }
        if sticky { try container.encode(sticky, forKey: .sticky) }
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
    /// Frames whose source's move to this port the hold-down refused.
    public var movesIgnored: UInt64

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
        movesIgnored = counters.movesIgnored
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
        case movesIgnored = "moves_ignored"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        port = try container.decode(PortID.self, forKey: .port)
        name = try container.decode(String.self, forKey: .name)
        up = try container.decode(Bool.self, forKey: .up)
        mtu = try container.decode(Int.self, forKey: .mtu)
        macCount = try container.decode(Int.self, forKey: .macCount)
        rxFrames = try container.decode(UInt64.self, forKey: .rxFrames)
        rxBytes = try container.decode(UInt64.self, forKey: .rxBytes)
        unicastFrames = try container.decode(UInt64.self, forKey: .unicastFrames)
        floodedFrames = try container.decode(UInt64.self, forKey: .floodedFrames)
        rxDrops = try container.decode(DropCounters.self, forKey: .rxDrops)
        txFrames = try container.decode(UInt64.self, forKey: .txFrames)
        txBytes = try container.decode(UInt64.self, forKey: .txBytes)
        txDrops = try container.decode(DropCounters.self, forKey: .txDrops)
        movesIgnored = try container.decodeIfPresent(UInt64.self, forKey: .movesIgnored) ?? 0
    }
}

/// One logged switch event for the control plane, with snake_case JSON keys; `old_port` is absent
/// for `learned` and `security-violation`, `vlan` when it is 0, `moves`/`span_ns`/`rate` but for
/// `flap` (the moves in the window, the time they took, moves per second) and `action` but for
/// `security-violation` (`drop` or `shut`).
public struct SwitchEventSnapshot: Hashable, Sendable, Codable {
    public var sequence: UInt64
    public var kind: SwitchEvent.Kind
    public var timeNs: UInt64
    public var mac: MACAddress
    public var vlan: UInt16?
    public var oldPort: PortID?
    public var oldPortName: String?
    public var newPort: PortID
    public var newPortName: String
    public var frameNumber: UInt64
    public var moves: Int?
    public var spanNs: UInt64?
    public var rate: Double?
    public var action: PortSecurity.Violation?

    public init(_ event: SwitchEvent, portName: (PortID) -> String) {
        sequence = event.sequence
        kind = event.kind
        timeNs = event.time
        mac = event.mac
        vlan = event.vlan == 0 ? nil : event.vlan
        oldPort = event.oldPort
        oldPortName = event.oldPort.map(portName)
        newPort = event.newPort
        newPortName = portName(event.newPort)
        frameNumber = event.frameNumber
        moves = event.flap?.moves
        spanNs = event.flap?.span
        rate = event.flap.map { ($0.perSecond * 100).rounded() / 100 }
        action = event.action
    }

    enum CodingKeys: String, CodingKey {
        case sequence, kind, mac, vlan, moves, rate, action
        case timeNs = "time_ns"
        case oldPort = "old_port"
        case oldPortName = "old_port_name"
        case newPort = "new_port"
        case newPortName = "new_port_name"
        case frameNumber = "frame_number"
        case spanNs = "span_ns"
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

    /// The MAC table as rows valid at `now`, sorted by port, VLAN, then MAC.
    public func macTableSnapshot(at now: UInt64) -> [MACTableEntrySnapshot] {
        macTable.entries(at: now).map {
            MACTableEntrySnapshot(mac: $0.mac, port: $0.port, portName: name(of: $0.port),
                                  ageMs: $0.age(at: now) / 1_000_000, moves: $0.moves, vlan: $0.vlan, sticky: $0.sticky)
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
