/// The relearn on one production switch of a lab across machines: which machine's switch, the port
/// the VM's MAC was to move onto (the destination's uplink, or the VXLAN port towards its machine),
/// and when and by which frame it moved.
public struct SwitchRelearn: Codable, Sendable, Equatable {
    public var machine: String?
    public var switchName: String
    public var port: SwitchPortRef?
    public var relearnMs: Double?
    public var frame: UInt64?
    public var byAnnounce: Bool?

    public init(machine: String?, switchName: String, port: SwitchPortRef?, relearnMs: Double? = nil, frame: UInt64? = nil, byAnnounce: Bool? = nil) {
        self.machine = machine
        self.switchName = switchName
        self.port = port
        self.relearnMs = relearnMs
        self.frame = frame
        self.byAnnounce = byAnnounce
    }

    enum CodingKeys: String, CodingKey {
        case machine, port, frame
        case switchName = "switch"
        case relearnMs = "relearn-ms"
        case byAnnounce = "by-announce"
    }
}
