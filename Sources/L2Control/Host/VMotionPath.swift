import L2Wire

/// One of a host's vMotion VMkernel interfaces (`vmk1`, and `vmk2` with Multi-NIC vMotion) and its
/// address, as `host-info` reports them.
public struct VMotionNIC: Codable, Sendable, Equatable {
    public var interface: String
    public var address: IPv4Address

    public init(interface: String, address: IPv4Address) {
        self.interface = interface
        self.address = address
    }
}

/// Where the lanes of a migration go: lane k leaves from the source's interface of path k mod the
/// number of paths, to that path's destination address (the destination's interface of the same
/// name). Path 0 is the classic one, vmk1 to the destination's vmk1.
public struct VMotionPath: Codable, Sendable, Equatable, CustomStringConvertible {
    /// The source's vMotion interface (`vmk2`).
    public var interface: String
    /// The destination's address on the same vMotion segment.
    public var destination: IPv4Address

    public init(interface: String, destination: IPv4Address) {
        self.interface = interface
        self.destination = destination
    }

    public var description: String { "\(interface) → \(destination)" }
}
