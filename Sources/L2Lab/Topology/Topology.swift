import L2Capture
import L2Guest
import L2Wire

/// A lab as pure description — switches, client hosts, hypervisor hosts, datastores and VMs, by
/// name — with nothing created yet. `LabRealiser` turns it into namespaces, TAPs and processes.
public struct Topology: Codable, Sendable, Equatable {
    public var name: String
    public var switches: [SwitchNode]
    public var clients: [ClientNode]
    public var hosts: [HostNode]
    public var datastores: [DatastoreNode]
    public var vms: [VMNode]
    /// A lab across machines: the machines its hosts, clients and members are placed on (empty: one machine).
    public var machines: [MachineNode] = []

    public init(name: String, switches: [SwitchNode], clients: [ClientNode], hosts: [HostNode],
                datastores: [DatastoreNode], vms: [VMNode], machines: [MachineNode] = []) {
        self.name = name
        self.switches = switches
        self.clients = clients
        self.hosts = hosts
        self.datastores = datastores
        self.vms = vms
        self.machines = machines
    }

    enum CodingKeys: String, CodingKey {
        case name, switches, clients, hosts, datastores, vms, machines
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        switches = try container.decode([SwitchNode].self, forKey: .switches)
        clients = try container.decodeIfPresent([ClientNode].self, forKey: .clients) ?? []
        hosts = try container.decodeIfPresent([HostNode].self, forKey: .hosts) ?? []
        datastores = try container.decodeIfPresent([DatastoreNode].self, forKey: .datastores) ?? []
        vms = try container.decodeIfPresent([VMNode].self, forKey: .vms) ?? []
        machines = try container.decodeIfPresent([MachineNode].self, forKey: .machines) ?? []
    }

    /// The namespace a client or host lives in: `<lab>-<node>`.
    public func namespace(of node: String) -> String { "\(name)-\(node)" }

    public func host(named name: String) -> HostNode? { hosts.first { $0.name == name } }
    public func vm(named name: String) -> VMNode? { vms.first { $0.name == name } }
    public func client(named name: String) -> ClientNode? { clients.first { $0.name == name } }
    public func switchNode(named name: String) -> SwitchNode? { switches.first { $0.name == name } }

    /// The ports a switch gets, in a stable order: clients first, then hosts, as listed.
    public func ports(of switchName: String) -> [TopologyPort] {
        var ports: [TopologyPort] = []
        for client in clients where client.switch == switchName {
            ports.append(TopologyPort(node: client.name, namespace: namespace(of: client.name), interface: "eth0",
                                      address: client.address, summary: "eth0 of client \(client.name)", keys: client.portKeys,
                                      addresses6: client.ipv6Addresses))
        }
        for host in hosts {
            if host.uplink == switchName {
                ports.append(TopologyPort(node: host.name, namespace: namespace(of: host.name), interface: host.uplinkInterface, address: nil,
                                          summary: "\(host.uplinkInterface) of host \(host.name)", keys: host.uplinkPortKeys))
            }
            if host.vmotion == switchName {
                ports.append(TopologyPort(node: host.name, namespace: namespace(of: host.name), interface: host.vmkernelInterface,
                                          address: host.vmkAddress, summary: "\(host.vmkernelInterface) of host \(host.name)",
                                          keys: host.vmotionPortKeys))
            }
            if let second = host.vmotion2, second == switchName {
                ports.append(TopologyPort(node: host.name, namespace: namespace(of: host.name), interface: host.vmkernel2Interface,
                                          address: host.vmk2Address, summary: "\(host.vmkernel2Interface) of host \(host.name)",
                                          keys: host.vmotionPortKeys))
            }
        }
        for member in switchNode(named: switchName)?.members ?? [] {
            guard let keys = member.endpointKeys else { continue }
            ports.append(TopologyPort(node: member.name, namespace: "", interface: "", address: nil,
                                      summary: member.description ?? "external member \(member.name)", keys: member.vlanKeys, endpoint: keys))
        }
        return ports
    }
}

/// One port a switch will create: the node it connects, where its kernel side goes, its address.
public struct TopologyPort: Sendable, Equatable {
    public var node: String
    public var namespace: String
    public var interface: String
    public var address: IPv4Interface?
    /// Where the port leads, for the capture: "vmnic0 of host esx01".
    public var summary: String
    /// The switch port's VLAN, port-security and MTU keys (`vlan=10`, `trunk=10:20`, `max-macs=1`,
    /// `port-mtu=1500`, …), in the order they are passed; empty for a plain port.
    public var keys: [String] = []
    /// For an external member, the keys that say what it is (`attach=vnet0`, `qemu=PATH`,
    /// `vxlan=…`), in place of `netns=`/`ifname=`; empty for the lab's own TAP ports.
    public var endpoint: [String] = []
    /// IPv6 addresses of the kernel side (a client's `ipv6`); empty: IPv6 off on it.
    public var addresses6: [IPv6Interface] = []
}

/// A userspace switch: one per Layer-2 segment.
public struct SwitchNode: Codable, Sendable, Equatable {
    public var name: String
    /// MTU of every port (68...9000).
    public var mtu: Int
    /// Bytes kept per frame in the capture (default 262144, whole super-frames); the vMotion segment
    /// keeps headers only by default.
    public var snaplen: Int
    /// Pass checksum and TCP segmentation offloads between the ports (default on).
    public var offloads: Bool
    /// The capture's format (default pcapng).
    public var captureFormat: CaptureFormat
    /// Also record each copy the switch sends, on its egress port (pcapng only; default off).
    public var egressRecords: Bool
    /// Seconds a learned MAC refuses to move to another port (`--move-holddown`; nil: the switch's default, 0).
    public var moveHolddown: Double?
    /// Seconds an idle MAC stays in the table (`--aging`; nil: the switch's default).
    public var aging: Double?
    /// Ports for things outside the lab: existing interfaces, QEMU VMs, VXLAN tunnels.
    public var members: [ExternalMemberNode] = []
    /// A lab across machines: the VNI of this segment's VXLAN ports between machines (nil: 5000 + its
    /// position among the switches, from 1).
    public var vni: UInt32?
    /// A lab across machines: the UDP port this segment's VXLAN ports use (nil: 4789 + its position,
    /// from 0). Each segment needs its own: its switch on a machine binds it in the machine's underlay.
    public var vxlanPort: UInt16?

    public init(name: String, mtu: Int = 1500, snaplen: Int = 262_144, offloads: Bool = true,
                captureFormat: CaptureFormat = .pcapng, egressRecords: Bool = false) {
        self.name = name
        self.mtu = mtu
        self.snaplen = snaplen
        self.offloads = offloads
        self.captureFormat = captureFormat
        self.egressRecords = egressRecords
    }

    enum CodingKeys: String, CodingKey {
        case name, mtu, snaplen, offloads
        case captureFormat = "capture-format"
        case egressRecords = "egress-records"
        case moveHolddown = "move-holddown"
        case aging, members, vni
        case vxlanPort = "vxlan_port"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        mtu = try container.decodeIfPresent(Int.self, forKey: .mtu) ?? 1500
        snaplen = try container.decodeIfPresent(Int.self, forKey: .snaplen) ?? 262_144
        offloads = try container.decodeIfPresent(Bool.self, forKey: .offloads) ?? true
        captureFormat = try container.decodeIfPresent(CaptureFormat.self, forKey: .captureFormat) ?? .pcapng
        egressRecords = try container.decodeIfPresent(Bool.self, forKey: .egressRecords) ?? false
        moveHolddown = try container.decodeIfPresent(Double.self, forKey: .moveHolddown)
        aging = try container.decodeIfPresent(Double.self, forKey: .aging)
        members = try container.decodeIfPresent([ExternalMemberNode].self, forKey: .members) ?? []
        vni = try container.decodeIfPresent(UInt32.self, forKey: .vni)
        vxlanPort = try container.decodeIfPresent(UInt16.self, forKey: .vxlanPort)
    }
}

/// A client host (a namespace with the kernel's own stack), e.g. where `ping` runs.
public struct ClientNode: Codable, Sendable, Equatable {
    public var name: String
    public var `switch`: String
    public var address: IPv4Interface
    /// Its switch port is an access port in this VLAN (1...4094); nil: a VLAN-unaware port.
    public var vlan: Int?
    /// Port security on its switch port.
    public var portSecurity: PortSecurityNode?
    /// A lab across machines: the machine it runs on.
    public var machine: String?
    /// Its IPv6 addresses (`ipv6:`; nil: `IPv6Interface.defaultULA(for: address)`, empty: link-local only).
    public var ipv6: [IPv6Interface]?

    /// The IPv6 addresses eth0 gets besides its link-local one.
    public var ipv6Addresses: [IPv6Interface] { ipv6 ?? [.defaultULA(for: address.address)] }

    public init(name: String, switch: String, address: IPv4Interface, vlan: Int? = nil, portSecurity: PortSecurityNode? = nil) {
        self.name = name
        self.switch = `switch`
        self.address = address
        self.vlan = vlan
        self.portSecurity = portSecurity
    }

    /// Its switch port's keys: `vlan=N` and the port-security keys.
    public var portKeys: [String] {
        (vlan.map { ["vlan=\($0)"] } ?? []) + (portSecurity?.portKeys ?? [])
    }

    enum CodingKeys: String, CodingKey {
        case name, `switch`, address, vlan, machine, ipv6
        case portSecurity = "port_security"
    }
}

/// An emulated hypervisor host: an uplink on one switch, a vMotion interface on another, and for
/// Multi-NIC vMotion a second vMotion interface (`vmk2`) on a third.
public struct HostNode: Codable, Sendable, Equatable {
    public var name: String
    public var uplink: String
    public var vmotion: String
    public var vmkAddress: IPv4Interface
    public var memoryMiB: Int
    public var portGroups: [PortGroupNode]
    public var datastores: [String]
    /// Multi-NIC vMotion: the second vMotion segment and vmk2's address there (both or neither).
    public var vmotion2: String?
    public var vmk2Address: IPv4Interface?
    /// Its uplink's switch port is a trunk carrying these VLANs (tagged); nil: a VLAN-unaware port.
    public var uplinkVLANs: [Int]?
    /// The MTU of its vMotion switch ports when it differs from the segment's (`port-mtu=`).
    public var vmkPortMTU: Int?
    /// A lab across machines: the machine it runs on.
    public var machine: String?

    /// The labels of its port groups (matched exactly, case included).
    public var portGroupLabels: [String] { portGroups.map(\.label) }

    /// Its uplink's switch port keys: `trunk=10:20` with `uplink_vlans`.
    public var uplinkPortKeys: [String] {
        uplinkVLANs.map { ["trunk=" + $0.map(String.init).joined(separator: ":")] } ?? []
    }

    /// Its vMotion switch ports' keys: `port-mtu=N` with `vmk_port_mtu`.
    public var vmotionPortKeys: [String] { vmkPortMTU.map { ["port-mtu=\($0)"] } ?? [] }

    public var uplinkInterface: String { "vmnic0" }
    public var vmkernelInterface: String { "vmk1" }
    public var vmkernel2Interface: String { "vmk2" }

    public init(name: String, uplink: String, vmotion: String, vmkAddress: IPv4Interface, memoryMiB: Int = 16_384,
                portGroups: [PortGroupNode], datastores: [String]) {
        self.name = name
        self.uplink = uplink
        self.vmotion = vmotion
        self.vmkAddress = vmkAddress
        self.memoryMiB = memoryMiB
        self.portGroups = portGroups
        self.datastores = datastores
    }

    enum CodingKeys: String, CodingKey {
        case name, uplink, vmotion, datastores, vmotion2, machine
        case vmkAddress = "vmk_address"
        case memoryMiB = "memory_mib"
        case portGroups = "port_groups"
        case vmk2Address = "vmk2_address"
        case uplinkVLANs = "uplink_vlans"
        case vmkPortMTU = "vmk_port_mtu"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        uplink = try container.decode(String.self, forKey: .uplink)
        vmotion = try container.decode(String.self, forKey: .vmotion)
        vmkAddress = try container.decode(IPv4Interface.self, forKey: .vmkAddress)
        memoryMiB = try container.decodeIfPresent(Int.self, forKey: .memoryMiB) ?? 16_384
        portGroups = try container.decode([PortGroupNode].self, forKey: .portGroups)
        datastores = try container.decodeIfPresent([String].self, forKey: .datastores) ?? []
        vmotion2 = try container.decodeIfPresent(String.self, forKey: .vmotion2)
        vmk2Address = try container.decodeIfPresent(IPv4Interface.self, forKey: .vmk2Address)
        uplinkVLANs = try container.decodeIfPresent([Int].self, forKey: .uplinkVLANs)
        vmkPortMTU = try container.decodeIfPresent(Int.self, forKey: .vmkPortMTU)
        machine = try container.decodeIfPresent(String.self, forKey: .machine)
    }
}

/// A datastore: one directory, mounted under this name by every host that lists it (shared storage).
public struct DatastoreNode: Codable, Sendable, Equatable {
    public var name: String
    /// The folder that is this datastore on every machine (shared storage such as an NFS mount; a
    /// lab across machines needs it for a datastore its hosts on several machines list). Nil: a
    /// folder in the lab's run folder.
    public var path: String?
    public init(name: String, path: String? = nil) {
        self.name = name
        self.path = path
    }
}

/// A VM, its files on a datastore, powered on on `host` when the lab comes up.
public struct VMNode: Codable, Sendable, Equatable {
    public var name: String
    public var host: String
    public var datastore: String
    public var mac: MACAddress
    public var ip: IPv4Interface
    public var memoryMiB: Int
    public var touchedMiB: Int
    public var portGroup: String
    public var workload: String
    /// MiB/s the workload writes instead of its preset's rate (`dirty-rate`, optional; 0: no writes).
    public var dirtyRate: Double?
    /// Its IPv6 addresses besides the link-local one (`ipv6:`; nil: the default ULA of `ip`, empty: none).
    public var ipv6: [IPv6Interface]?
    /// `ipv6`, or the default ULA of `ip` when it is not given.
    public var ipv6Addresses: [IPv6Interface] { ipv6 ?? [.defaultULA(for: ip.address)] }

    public init(name: String, host: String, datastore: String, mac: MACAddress, ip: IPv4Interface, memoryMiB: Int,
                touchedMiB: Int, portGroup: String, workload: String, dirtyRate: Double? = nil) {
        self.name = name
        self.host = host
        self.datastore = datastore
        self.mac = mac
        self.ip = ip
        self.memoryMiB = memoryMiB
        self.touchedMiB = touchedMiB
        self.portGroup = portGroup
        self.workload = workload
        self.dirtyRate = dirtyRate
    }

    /// The workload the VM runs: its preset (idle if unknown; the validator refuses that) at `dirtyRate`
    /// if given.
    public var workloadSpec: WorkloadSpec {
        let preset = WorkloadSpec.preset(named: workload) ?? .idle
        return dirtyRate.map { preset.withDirtyRate(mebibytesPerSecond: $0) } ?? preset
    }

    enum CodingKeys: String, CodingKey {
        case name, host, datastore, mac, ip, workload, ipv6
        case memoryMiB = "memory_mib"
        case touchedMiB = "touched_mib"
        case portGroup = "port_group"
        case dirtyRate = "dirty-rate"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        host = try container.decode(String.self, forKey: .host)
        datastore = try container.decode(String.self, forKey: .datastore)
        mac = try container.decode(MACAddress.self, forKey: .mac)
        ip = try container.decode(IPv4Interface.self, forKey: .ip)
        memoryMiB = try container.decode(Int.self, forKey: .memoryMiB)
        touchedMiB = try container.decodeIfPresent(Int.self, forKey: .touchedMiB) ?? 0
        portGroup = try container.decode(String.self, forKey: .portGroup)
        workload = try container.decodeIfPresent(String.self, forKey: .workload) ?? "idle"
        dirtyRate = try container.decodeIfPresent(Double.self, forKey: .dirtyRate)
        ipv6 = try container.decodeIfPresent([IPv6Interface].self, forKey: .ipv6)
    }
}

extension Topology {
    /// Sets every switch's capture format and egress records where given (the command line's
    /// `--capture-format`, `--egress-records`).
    public mutating func overrideCaptures(format: CaptureFormat?, egressRecords: Bool?) {
        for index in switches.indices {
            if let format { switches[index].captureFormat = format }
            if let egressRecords { switches[index].egressRecords = egressRecords }
        }
    }
}
