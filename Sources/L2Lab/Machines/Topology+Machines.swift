import L2Wire

/// A lab across machines, pure: which machine each node is on, which segments span machines, and
/// the part of the lab one machine brings up (`part(for:)`).
///
/// The machines of a segment are joined in a star around the first of them listed under
/// `machines` (the hub): each other machine's switch has one VXLAN port to the hub's, the hub's has
/// one to each of them. A star has no loop, so flooding needs neither a spanning tree nor split
/// horizon; traffic between two spokes crosses the hub.
extension Topology {
    /// Whether the topology places its nodes on several machines.
    public var spansMachines: Bool { !machines.isEmpty }

    public func machine(named name: String) -> MachineNode? { machines.first { $0.name == name } }

    /// The name of the lab one machine's part runs under (its run folder and namespace prefix):
    /// `<lab>-<machine>`.
    public static func partName(lab: String, machine: String) -> String { "\(lab)-\(machine)" }

    /// The machine a host runs on (nil in a lab on one machine).
    public func machine(ofHost host: String) -> String? { self.host(named: host)?.machine }

    /// The machines that have a node or member on switch `name`, in the order of `machines`.
    public func machines(ofSegment name: String) -> [String] {
        var used = Set<String>()
        for client in clients where client.switch == name { client.machine.map { _ = used.insert($0) } }
        for host in hosts where [host.uplink, host.vmotion, host.vmotion2].contains(name) { host.machine.map { _ = used.insert($0) } }
        for member in switchNode(named: name)?.members ?? [] { member.machine.map { _ = used.insert($0) } }
        return machines.map(\.name).filter(used.contains)
    }

    /// The VNI of segment `name` between machines.
    public func vni(ofSegment name: String) -> UInt32 {
        let index = switches.firstIndex { $0.name == name } ?? 0
        return switchNode(named: name)?.vni ?? UInt32(5000 + index + 1)
    }

    /// The UDP port of segment `name`'s VXLAN ports between machines.
    public func vxlanPort(ofSegment name: String) -> UInt16 {
        let index = switches.firstIndex { $0.name == name } ?? 0
        return switchNode(named: name)?.vxlanPort ?? UInt16(4789 + index)
    }

    /// The name of the VXLAN port that leads to machine `machine`: `vx-<machine>`.
    public static func tunnelPortName(to machine: String) -> String { "vx-\(machine)" }

    /// The machines segment `name`'s switch on `machine` has a VXLAN port to: every other machine of
    /// the segment on the hub, the hub on the others.
    public func tunnelPeers(ofSegment name: String, on machine: String) -> [String] {
        let members = machines(ofSegment: name)
        guard members.count > 1, let hub = members.first, members.contains(machine) else { return [] }
        return machine == hub ? Array(members.dropFirst()) : [hub]
    }

    /// The port of segment `name`'s switch on machine `machine` through which `host`'s uplink is
    /// reached: its uplink port if it runs there, else the VXLAN port towards it (nil: the segment
    /// is not on that machine).
    public func portTowards(host: String, onSegment name: String, machine: String) -> String? {
        guard let target = self.machine(ofHost: host) else { return nil }
        if target == machine { return host }
        let members = machines(ofSegment: name)
        guard let hub = members.first, members.contains(machine) else { return nil }
        return Self.tunnelPortName(to: machine == hub ? target : hub)
    }

    /// What machine `machine` brings up: its clients, hosts and their VMs, the datastores they use,
    /// and its share of every segment it has a node on, as a switch whose VXLAN members lead to the
    /// other machines' switches of that segment. The part is a lab of its own, `<lab>-<machine>`,
    /// with no machines of its own.
    public func part(for machine: String) -> Topology {
        let localHosts = hosts.filter { $0.machine == machine }
        let localNames = Set(localHosts.map(\.name))
        let localVMs = vms.filter { localNames.contains($0.host) }
        let usedStores = Set(localHosts.flatMap(\.datastores))
        let segments = switches.filter { machines(ofSegment: $0.name).contains(machine) }
        let here = self.machine(named: machine)
        var parts: [SwitchNode] = []
        for segment in segments {
            var node = segment
            node.members = segment.members.filter { $0.machine == machine }
            for peer in tunnelPeers(ofSegment: segment.name, on: machine) {
                guard let remote = self.machine(named: peer) else { continue }
                var tunnel = ExternalMemberNode(name: Self.tunnelPortName(to: peer), vxlan: remote.underlay, vni: vni(ofSegment: segment.name),
                                                local: here?.underlay, dstport: vxlanPort(ofSegment: segment.name),
                                                underlay: here?.underlayNamespace)
                tunnel.description = "VXLAN to machine \(peer) (vni \(vni(ofSegment: segment.name)))"
                tunnel.machine = machine
                let carried = vlans(onSegment: segment.name)
                if !carried.isEmpty { tunnel.trunk = carried }
                node.members.append(tunnel)
            }
            parts.append(node)
        }
        return Topology(name: Self.partName(lab: name, machine: machine), switches: parts,
                        clients: clients.filter { $0.machine == machine }, hosts: localHosts,
                        datastores: datastores.filter { usedStores.contains($0.name) }, vms: localVMs)
    }

    /// Every VLAN used on segment `name` (its trunks and access ports), for the tunnels between
    /// machines, which carry them all tagged.
    func vlans(onSegment name: String) -> [Int] {
        var vlans = Set<Int>()
        for client in clients where client.switch == name { client.vlan.map { _ = vlans.insert($0) } }
        for host in hosts where host.uplink == name { host.uplinkVLANs.map { vlans.formUnion($0) } }
        for member in switchNode(named: name)?.members ?? [] {
            member.vlan.map { _ = vlans.insert($0) }
            member.trunk.map { vlans.formUnion($0) }
        }
        return vlans.sorted()
    }
}
