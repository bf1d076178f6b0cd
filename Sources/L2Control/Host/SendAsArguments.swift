import L2Wire

/// What `send-as` asks of a host: VM `vm` sends `count` frames whose source MAC is `mac`, one every
/// `intervalMs`. Range-checked when made and when decoded (`Limits.sendAsCount`, `.sendAsIntervalMs`,
/// and at most `maximumSeconds` in all), so a host never sleeps for a hostile client.
/// On the wire: `{"send-as":{"arguments":{"vm":"web02","mac":"00:50:56:00:00:10","count":5,"interval-ms":100}}}`.
public struct SendAsArguments: Codable, Hashable, Sendable {
    /// The longest a `send-as` may take: its reply waits for the last frame.
    public static let maximumSeconds = 600.0

    public let vm: String
    public let mac: MACAddress
    public let count: Int
    public let intervalMs: Int

    public init(vm: String, mac: MACAddress, count: Int = 1, intervalMs: Int = 100) throws(ConfigurationError) {
        try Limits.sendAsCount.check(count)
        try Limits.sendAsIntervalMs.check(intervalMs)
        let seconds = Double(count - 1) * Double(intervalMs) / 1000
        guard seconds <= Self.maximumSeconds else {
            throw ConfigurationError("--count \(count) frames every \(intervalMs) ms take \(Int(seconds)) s; keep it within \(Int(Self.maximumSeconds)) s (fewer frames or a shorter --interval-ms)")
        }
        self.vm = vm
        self.mac = mac
        self.count = count
        self.intervalMs = intervalMs
    }

    /// How long the host takes to send them all, in whole seconds rounded up.
    public var durationSeconds: Int { Int((Double(count - 1) * Double(intervalMs) / 1000).rounded(.up)) }

    enum CodingKeys: String, CodingKey {
        case vm, mac, count
        case intervalMs = "interval-ms"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(vm: try container.decode(String.self, forKey: .vm), mac: try container.decode(MACAddress.self, forKey: .mac),
                      count: try container.decode(Int.self, forKey: .count), intervalMs: try container.decode(Int.self, forKey: .intervalMs))
    }
}

/// What `send-as` answers: how many frames the VM sent and what the virtual switch did with them.
public struct SendAsResult: Codable, Hashable, Sendable {
    public var sent: Int
    /// Frames the port group's "forged transmits: reject" dropped.
    public var droppedForged: Int
    /// Frames that left through the uplink.
    public var toUplink: Int
    /// The port group the VM's NIC is in, as `PortGroup.description` shows it.
    public var portGroup: String

    public init(sent: Int, droppedForged: Int, toUplink: Int, portGroup: String) {
        self.sent = sent
        self.droppedForged = droppedForged
        self.toUplink = toUplink
        self.portGroup = portGroup
    }

    enum CodingKeys: String, CodingKey {
        case sent
        case droppedForged = "dropped_forged"
        case toUplink = "to_uplink"
        case portGroup = "port_group"
    }
}
