import L2Control
import L2Guest
import L2Wire

/// Everything a host process is started with. The process runs inside the host's own network
/// namespace (`ip netns exec l2m-esx01 l2motion host esx01 ...`).
public struct HostSettings: Sendable {
    public var name: String
    /// The uplink to the production switch; the host has no address on it (like an ESXi vmnic).
    public var uplink: String
    /// The vMotion VMkernel interface and its address (assigned by the vMotion switch's port).
    public var vmkernel: String
    public var vmkernelAddress: IPv4Address
    public var migrationPort: UInt16
    public var memoryLimitMiB: Int
    /// The port groups the host starts with. They can change while it runs (`port-group-add`,
    /// `port-group-remove`): read the current set with `HostDaemon.portGroups()`, never from here.
    public var portGroups: [PortGroup]
    /// Datastore name → directory. A shared datastore is the same directory under the same name on several hosts.
    public var datastores: [String: String]
    public var controlSocket: String
    /// Multi-NIC vMotion: a second VMkernel interface on a second vMotion segment (`vmk2`), with its
    /// own listener; nil with one vMotion NIC.
    public var secondVMKernel: VMotionNIC?

    /// Every vMotion interface, vmk1 first.
    public var vmotionNICs: [VMotionNIC] {
        [VMotionNIC(interface: vmkernel, address: vmkernelAddress)] + (secondVMKernel.map { [$0] } ?? [])
    }

    public init(name: String, uplink: String = "vmnic0", vmkernel: String = "vmk1", vmkernelAddress: IPv4Address,
                migrationPort: UInt16 = 8000, memoryLimitMiB: Int = 16_384, portGroups: [PortGroup],
                datastores: [String: String], controlSocket: String) {
        self.name = name
        self.uplink = uplink
        self.vmkernel = vmkernel
        self.vmkernelAddress = vmkernelAddress
        self.migrationPort = migrationPort
        self.memoryLimitMiB = memoryLimitMiB
        self.portGroups = portGroups
        self.datastores = datastores
        self.controlSocket = controlSocket
    }
}
