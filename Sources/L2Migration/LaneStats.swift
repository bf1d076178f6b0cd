/// One lane's share of a migration (`lanes` in `MigrationResult`): lane 0 is the connection that
/// carried the handshake and every control message, lanes 1 and up carried pages only.
public struct LaneStats: Codable, Sendable, Equatable {
    public var lane: Int
    /// The source's vMotion interface the lane left from (`vmk1`, `vmk2`), when the driver named it.
    public var interface: String?
    /// Bytes the source put on the lane (sealed records counted whole).
    public var bytes: Int
    /// The lane's mean rate from the start of pre-copy to the switchover message, in Mbit/s.
    public var mbps: Double

    enum CodingKeys: String, CodingKey {
        case lane, bytes, mbps
        case interface = "nic"
    }

    public init(lane: Int, interface: String?, bytes: Int, mbps: Double) {
        self.lane = lane
        self.interface = interface
        self.bytes = bytes
        self.mbps = mbps
    }
}
