import L2Guest
import L2Wire

/// What `host-info` on a host's control socket answers.
public struct HostInfo: Codable, Sendable {
    public var name: String
    public var pid: Int32
    public var uplink: String
    public var vmkernel: String
    public var vmkernelAddress: String
    public var migrationPort: UInt16
    public var memoryLimitMiB: Int
    public var memoryFreeMiB: Int
    public var portGroups: [PortGroup]
    public var datastores: [String: String]
    public var vms: [String]
    /// Every vMotion interface, vmk1 first (several with Multi-NIC vMotion; nil from an older host).
    public var vmotionNICs: [VMotionNIC]?
    /// Frames the host's virtual switch dropped because a port group rejects forged transmits (nil
    /// from an older host).
    public var forgedTransmitDrops: Int?
    /// Each VM's IPv6 addresses, link-local first (nil from an older host).
    public var vmIPv6: [String: [IPv6Interface]]?
    /// Each VM's TCP services as `name/port` (nil from an older host).
    public var vmServices: [String: [String]]?

    public init(name: String, pid: Int32, uplink: String, vmkernel: String, vmkernelAddress: String, migrationPort: UInt16,
                memoryLimitMiB: Int, memoryFreeMiB: Int, portGroups: [PortGroup], datastores: [String: String], vms: [String]) {
        self.name = name
        self.pid = pid
        self.uplink = uplink
        self.vmkernel = vmkernel
        self.vmkernelAddress = vmkernelAddress
        self.migrationPort = migrationPort
        self.memoryLimitMiB = memoryLimitMiB
        self.memoryFreeMiB = memoryFreeMiB
        self.portGroups = portGroups
        self.datastores = datastores
        self.vms = vms
    }

    enum CodingKeys: String, CodingKey {
        case name, pid, uplink, vmkernel, datastores, vms
        case vmkernelAddress = "vmkernel_address"
        case migrationPort = "migration_port"
        case memoryLimitMiB = "memory_limit_mib"
        case memoryFreeMiB = "memory_free_mib"
        case portGroups = "port_groups"
        case vmotionNICs = "vmotion_nics"
        case forgedTransmitDrops = "forged_transmit_drops"
        case vmIPv6 = "vm_ipv6"
        case vmServices = "vm_services"
    }
}

/// One VM as `list-vms` reports it.
public struct VMSummary: Codable, Sendable {
    public var name: String
    public var mac: MACAddress
    public var ip: IPv4Interface
    public var memoryMiB: Int
    public var portGroup: String
    public var datastore: String
    /// The workload as it runs: its preset, its rate (after any `--dirty-rate`, before any throttle),
    /// working set and pattern.
    public var workload: WorkloadSpec
    public var statistics: VMStatistics
    /// Its IPv6 addresses, link-local first (`VMConfiguration.ipv6Interfaces`; nil from an older host).
    public var ipv6: [IPv6Interface]?
    /// Its TCP services as `name/port` (`VMServices.names`; nil from an older host).
    public var services: [String]?

    public init(name: String, mac: MACAddress, ip: IPv4Interface, memoryMiB: Int, portGroup: String, datastore: String,
                workload: WorkloadSpec, statistics: VMStatistics, ipv6: [IPv6Interface]? = nil, services: [String]? = nil) {
        self.name = name
        self.mac = mac
        self.ip = ip
        self.memoryMiB = memoryMiB
        self.portGroup = portGroup
        self.datastore = datastore
        self.workload = workload
        self.statistics = statistics
        self.ipv6 = ipv6
        self.services = services
    }

    /// The services in short: `echo/7 http/80`, or `-`.
    public var servicesSummary: String { (services ?? []).isEmpty ? "-" : (services ?? []).joined(separator: " ") }

    /// The IPv6 addresses in short: `fd00:10:10::10/64, fe80::250:56ff:fe00:10` (`IPv6Text.compact`).
    public var ipv6Summary: String { IPv6Text.compact(ipv6 ?? []) }

    enum CodingKeys: String, CodingKey {
        case name, mac, ip, datastore, workload, statistics, ipv6, services
        case memoryMiB = "memory_mib"
        case portGroup = "port_group"
    }
}
