import L2Switch

/// Everything a switch daemon's control socket serves, one case per command, typed arguments.
/// On the wire: `{"events":{"since":12}}`, `{"port":{"port":"p2","state":"down"}}`, `{"status":{}}`.
public enum SwitchRequest: ControlRequestKind, Equatable {
    /// The switch's name, pid, capture path and ports → `SwitchStatus`.
    case status
    /// The MAC table → `[MACTableEntrySnapshot]`.
    case macTable
    /// Station moves and learning events after a cursor → `SwitchEventPageSnapshot`.
    case events(since: UInt64)
    /// Per-port counters → `[PortCountersSnapshot]`.
    case counters
    /// Ports' VLAN modes, MTUs, port security and state, and per-VLAN counters → `SwitchPortsSnapshot`.
    case ports
    /// An administrative link fault or its repair → `Nothing`.
    case setPort(port: String, state: PortAdminState)
    /// Forget learned MACs, of one port or all → `FlushResult`.
    case flush(port: String?)
    /// Write every captured frame to its file now → `CaptureFlushResult`.
    case captureFlush
    /// Stream the capture live, of one port or all → `CaptureStreamStart`, then pcapng bytes on
    /// the same connection until the reader closes it or the switch stops.
    case captureStream(port: String?)
    /// The captured frames a BPF filter keeps (`"arp"`, `"rarp"`), at or after a wall-clock time
    /// (`since`, Unix nanoseconds; 0: all), read from the switch's own capture file after a flush, for
    /// a coordinator that cannot read the file (the switch is on another machine) →
    /// `[CapturedFrameRef]`.
    case captureFrames(filter: String, since: UInt64)

    enum CodingKeys: String, CodingKey, CaseIterable {
        case status, events, counters, flush, ports
        case macTable = "mac-table"
        case setPort = "port"
        case captureFlush = "capture-flush"
        case captureStream = "capture-stream"
        case captureFrames = "capture-frames"
    }

    public static let daemon = "switch"
    public static var commands: [String] { CodingKeys.allCases.map(\.rawValue) }

    public var command: String {
        switch self {
        case .status: CodingKeys.status.rawValue
        case .macTable: CodingKeys.macTable.rawValue
        case .events: CodingKeys.events.rawValue
        case .counters: CodingKeys.counters.rawValue
        case .ports: CodingKeys.ports.rawValue
        case .setPort: CodingKeys.setPort.rawValue
        case .flush: CodingKeys.flush.rawValue
        case .captureFlush: CodingKeys.captureFlush.rawValue
        case .captureStream: CodingKeys.captureStream.rawValue
        case .captureFrames: CodingKeys.captureFrames.rawValue
        }
    }
}

/// A port's administrative state as `l2motion port NAME PORT down|up` sets it.
public enum PortAdminState: String, Codable, Sendable, CaseIterable {
    case up, down
}

/// What `flush` answers: how many MAC entries it removed.
public struct FlushResult: Codable, Sendable, Equatable {
    public var removed: Int
    public init(removed: Int) { self.removed = removed }
}

/// What `capture-flush` answers: frames in the segment capture so far.
public struct CaptureFlushResult: Codable, Sendable, Equatable {
    public var frames: UInt64
    public init(frames: UInt64) { self.frames = frames }
}

/// What `capture-stream` answers before the stream's bytes: their format and interfaces.
public struct CaptureStreamStart: Codable, Sendable, Equatable {
    /// "pcapng".
    public var format: String
    /// The switch's ports, in interface order.
    public var interfaces: [String]
    /// The port streamed, nil for all.
    public var port: String?

    public init(format: String, interfaces: [String], port: String?) {
        self.format = format
        self.interfaces = interfaces
        self.port = port
    }
}

/// One frame `capture-frames` found: its number in the capture file (1-based, as Wireshark and
/// `PcapReader` number the file's frames, outbound copies not counted) and when it was captured.
public struct CapturedFrameRef: Codable, Sendable, Equatable {
    public var number: UInt64
    /// Unix time in nanoseconds.
    public var wallNanoseconds: UInt64

    public init(number: UInt64, wallNanoseconds: UInt64) {
        self.number = number
        self.wallNanoseconds = wallNanoseconds
    }

    enum CodingKeys: String, CodingKey {
        case number
        case wallNanoseconds = "wall_nanoseconds"
    }
}

/// The switch's calls, each with its reply type.
public enum SwitchCall {
    public static let status = ControlCall<SwitchRequest, SwitchStatus>(.status)
    public static let macTable = ControlCall<SwitchRequest, [MACTableEntrySnapshot]>(.macTable)
    public static func events(since cursor: UInt64 = 0) -> ControlCall<SwitchRequest, SwitchEventPageSnapshot> { .init(.events(since: cursor)) }
    public static let counters = ControlCall<SwitchRequest, [PortCountersSnapshot]>(.counters)
    public static let ports = ControlCall<SwitchRequest, SwitchPortsSnapshot>(.ports)
    public static func setPort(_ port: String, _ state: PortAdminState) -> ControlCall<SwitchRequest, Nothing> { .init(.setPort(port: port, state: state)) }
    public static func flush(port: String? = nil) -> ControlCall<SwitchRequest, FlushResult> { .init(.flush(port: port)) }
    public static let captureFlush = ControlCall<SwitchRequest, CaptureFlushResult>(.captureFlush)
    public static func captureStream(port: String? = nil) -> ControlCall<SwitchRequest, CaptureStreamStart> { .init(.captureStream(port: port)) }
    public static func captureFrames(filter: String, sinceWallNanoseconds: UInt64 = 0) -> ControlCall<SwitchRequest, [CapturedFrameRef]> {
        .init(.captureFrames(filter: filter, since: sinceWallNanoseconds))
    }
}
