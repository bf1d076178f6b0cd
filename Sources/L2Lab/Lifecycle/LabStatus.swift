import Foundation
import L2Control
import L2Edge
import L2Guest
import L2Switch

/// A running lab at a glance: its processes, where each VM runs, the switches' MAC tables.
public struct LabStatus: Codable, Sendable {
    public struct ProcessRow: Codable, Sendable {
        public var name: String
        public var pid: Int32
        public var alive: Bool
    }

    public struct VMRow: Codable, Sendable {
        public var name: String
        public var host: String
        public var state: String
        public var ip: String
        public var mac: String
        /// The workload as it runs: `web at 64 MiB/s`.
        public var workload: String
        public var udpCounter: UInt64
        /// Its IPv6 addresses in short (`IPv6Text.compact`); nil from an older host.
        public var ipv6: String?
        /// Its TCP services (`echo/7 http/80`); nil from an older host.
        public var services: String? = nil

        enum CodingKeys: String, CodingKey {
            case name, host, state, ip, mac, workload, ipv6, services
            case udpCounter = "udp_counter"
        }
    }

    /// A host's port groups (with their VLANs and forged-transmits policy) and its forged-transmit drops.
    public struct HostRow: Codable, Sendable {
        public var name: String
        public var portGroups: [PortGroup]
        public var forgedTransmitDrops: Int

        enum CodingKeys: String, CodingKey {
            case name
            case portGroups = "port_groups"
            case forgedTransmitDrops = "forged_transmit_drops"
        }
    }

    public var name: String
    public var createdAt: Date
    public var captureDirectory: String
    public var processes: [ProcessRow]
    public var hosts: [HostRow]
    public var vms: [VMRow]
    public var macTables: [String: [MACTableEntrySnapshot]]
    /// The switches' external members (attached interfaces, QEMU sockets, VXLAN tunnels) as the
    /// switches report them.
    public var members: [MemberRow] = []

    /// One external member of a segment: where it leads and how its endpoint is doing.
    public struct MemberRow: Codable, Sendable {
        public var `switch`: String
        public var endpoint: String
        public var state: PortEndpointState
    }

    enum CodingKeys: String, CodingKey {
        case name, processes, hosts, vms, members
        case createdAt = "created_at"
        case captureDirectory = "capture_directory"
        case macTables = "mac_tables"
    }

    public static func collect(_ state: LabState) -> LabStatus {
        let marker = "--lab \(state.name) "
        let processes = state.processes.map {
            ProcessRow(name: "\($0.role) \($0.name)", pid: $0.pid, alive: ProcessControl.isAlive($0.pid, commandLineContains: marker))
        }
        var vms: [VMRow] = []
        var hosts: [HostRow] = []
        for host in state.topology.hosts {
            if let info = try? ControlClient.call(state.folder.hostSocket(host.name), HostCall.hostInfo) {
                hosts.append(HostRow(name: host.name, portGroups: info.portGroups, forgedTransmitDrops: info.forgedTransmitDrops ?? 0))
            }
            guard let list = try? ControlClient.call(state.folder.hostSocket(host.name), HostCall.listVMs()) else { continue }
            vms += list.map { VMRow(name: $0.name, host: host.name, state: $0.statistics.state.rawValue, ip: $0.ip.description,
                                    mac: $0.mac.description, workload: $0.workload.rateSummary, udpCounter: $0.statistics.udpCounter,
                                    ipv6: $0.ipv6.map(IPv6Text.compact), services: $0.services == nil ? nil : $0.servicesSummary) }
        }
        var tables: [String: [MACTableEntrySnapshot]] = [:]
        var members: [MemberRow] = []
        for node in state.topology.switches {
            tables[node.name] = try? ControlClient.call(state.folder.switchSocket(node.name), SwitchCall.macTable)
            guard !node.members.isEmpty, let status = try? ControlClient.call(state.folder.switchSocket(node.name), SwitchCall.status) else { continue }
            for (spec, endpoint) in zip(status.ports, status.endpoints ?? []) where spec.endpoint != .tap {
                members.append(MemberRow(switch: node.name, endpoint: spec.endpointDescription, state: endpoint))
            }
        }
        var status = LabStatus(name: state.name, createdAt: state.createdAt, captureDirectory: state.captureDirectory,
                               processes: processes, hosts: hosts, vms: vms.sorted { $0.name < $1.name }, macTables: tables)
        status.members = members
        return status
    }
}
