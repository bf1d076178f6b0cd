import L2Control
import L2Guest
import L2Wire

/// The consistency rules of a topology, pure: names, references, addresses, port groups, memory.
public enum TopologyValidator {
    /// Every problem, each with the path of the field at fault.
    public static func problems(in topology: Topology) -> [TopologyProblem] {
        var problems: [TopologyProblem] = []
        func add(_ path: String, _ message: String) { problems.append(TopologyProblem(path: path, line: nil, message: message)) }

        if !isPlainName(topology.name, maximum: 8) {
            add("name", "lab name \"\(topology.name)\" must be 1-8 letters or digits (it prefixes every namespace: \(topology.name)-client01)")
        }
        var nodeNames: [String: String] = [:]
        func claim(_ name: String, _ path: String) {
            if let other = nodeNames[name] { add(path, "name \"\(name)\" is already used by \(other)") } else { nodeNames[name] = path }
            if !isPlainName(name, maximum: 32, allowDash: true) { add(path, "name \"\(name)\" must be letters, digits, - or _") }
        }
        var switchNames = Set<String>()
        for (index, node) in topology.switches.enumerated() {
            let path = "switches[\(index)]"
            if !switchNames.insert(node.name).inserted { add("\(path).name", "switch \"\(node.name)\" is defined twice") }
            if !isPlainName(node.name, maximum: 32, allowDash: true) { add("\(path).name", "switch name \"\(node.name)\" must be letters, digits, - or _") }
            if !(PortSpec.minimumMTU...PortSpec.maximumMTU).contains(node.mtu) { add("\(path).mtu", "mtu \(node.mtu) is out of range; use 68...9000") }
            if !(64...262_144).contains(node.snaplen) { add("\(path).snaplen", "snaplen \(node.snaplen) is out of range; use 64...262144") }
            if node.egressRecords && node.captureFormat != .pcapng {
                add("\(path).egress-records", "egress records need capture-format pcapng (pcap has no directions)")
            }
        }
        let datastoreNames = Set(topology.datastores.map(\.name))
        for (index, store) in topology.datastores.enumerated() where topology.datastores.firstIndex(where: { $0.name == store.name }) != index {
            add("datastores[\(index)].name", "datastore \"\(store.name)\" is defined twice")
        }
        var addresses: [IPv4Address: String] = [:]
        func claimAddress(_ address: IPv4Address, _ path: String) {
            if let other = addresses[address] { add(path, "address \(address) is already used by \(other)") } else { addresses[address] = path }
        }
        for (index, client) in topology.clients.enumerated() {
            let path = "clients[\(index)]"
            claim(client.name, "\(path).name")
            if !switchNames.contains(client.switch) { add("\(path).switch", "no switch \"\(client.switch)\"; switches are \(switchNames.sorted().joined(separator: ", "))") }
            claimAddress(client.address.address, "\(path).address")
            for problem in ipv6Problems(client.ipv6Addresses) { add("\(path).ipv6", problem) }
        }
        for (index, host) in topology.hosts.enumerated() {
            let path = "hosts[\(index)]"
            claim(host.name, "\(path).name")
            if !switchNames.contains(host.uplink) { add("\(path).uplink", "no switch \"\(host.uplink)\"; switches are \(switchNames.sorted().joined(separator: ", "))") }
            if !switchNames.contains(host.vmotion) { add("\(path).vmotion", "no switch \"\(host.vmotion)\"; switches are \(switchNames.sorted().joined(separator: ", "))") }
            if host.uplink == host.vmotion { add("\(path).vmotion", "the vMotion segment must be a separate switch from the uplink's") }
            claimAddress(host.vmkAddress.address, "\(path).vmk_address")
            switch (host.vmotion2, host.vmk2Address) {
            case let (segment?, address?):
                if !switchNames.contains(segment) { add("\(path).vmotion2", "no switch \"\(segment)\"; switches are \(switchNames.sorted().joined(separator: ", "))") }
                if segment == host.uplink || segment == host.vmotion {
                    add("\(path).vmotion2", "the second vMotion segment must be a switch of its own, not the uplink's or vmotion's (\(segment))")
                }
                claimAddress(address.address, "\(path).vmk2_address")
                if address.network == host.vmkAddress.network {
                    add("\(path).vmk2_address", "\(address) is in the subnet of vmk_address \(host.vmkAddress); each vMotion segment needs its own subnet, or the kernel sends both NICs' traffic out of one")
                }
            case (_?, nil):
                add("\(path).vmk2_address", "vmotion2 needs vmk2_address (vmk2's address on the second vMotion segment)")
            case (nil, _?):
                add("\(path).vmotion2", "vmk2_address needs vmotion2 (the switch of the second vMotion segment)")
            case (nil, nil):
                break
            }
            if host.portGroups.isEmpty { add("\(path).port_groups", "a host needs at least one port group") }
            if Set(host.portGroupLabels).count != host.portGroups.count { add("\(path).port_groups", "a port group label is listed twice") }
            for store in host.datastores where !datastoreNames.contains(store) {
                add("\(path).datastores", "no datastore \"\(store)\"; datastores are \(datastoreNames.sorted().joined(separator: ", "))")
            }
            if !(1...1_048_576).contains(host.memoryMiB) { add("\(path).memory_mib", "memory \(host.memoryMiB) MiB is out of range") }
        }
        // Segments and hosts in file order, so the problems come out in the same order every run. A
        // vMotion segment is one subnet, whether hosts reach it by vmk1 or vmk2.
        var segments: [(name: String, members: [(index: Int, host: HostNode, field: String, address: IPv4Interface)])] = []
        for (index, host) in topology.hosts.enumerated() {
            var attachments = [(host.vmotion, "vmk_address", host.vmkAddress)]
            if let second = host.vmotion2, let address = host.vmk2Address { attachments.append((second, "vmk2_address", address)) }
            for (segment, field, address) in attachments {
                if let position = segments.firstIndex(where: { $0.name == segment }) {
                    segments[position].members.append((index, host, field, address))
                } else {
                    segments.append((segment, [(index, host, field, address)]))
                }
            }
        }
        for segment in segments {
            for (first, second) in zip(segment.members, segment.members.dropFirst())
            where first.address.network != second.address.network || first.address.prefixLength != second.address.prefixLength {
                add("hosts[\(second.index)].\(second.field)", "\(second.address) is not in the same subnet as \(first.host.name)'s \(first.address) on segment \(segment.name)")
            }
        }
        var macs: [MACAddress: String] = [:]
        var memoryUse: [String: Int] = [:]
        for (index, vm) in topology.vms.enumerated() {
            let path = "vms[\(index)]"
            claim(vm.name, "\(path).name")
            if let other = macs[vm.mac] { add("\(path).mac", "MAC \(vm.mac) is already used by \(other)") } else { macs[vm.mac] = path }
            if vm.mac.isMulticast || vm.mac.isZero { add("\(path).mac", "MAC \(vm.mac) must be a unicast, non-zero address") }
            for problem in ipv6Problems(vm.ipv6 ?? []) { add("\(path).ipv6", problem) }
            claimAddress(vm.ip.address, "\(path).ip")
            guard let host = topology.host(named: vm.host) else {
                add("\(path).host", "no host \"\(vm.host)\"; hosts are \(topology.hosts.map(\.name).joined(separator: ", "))")
                continue
            }
            if !host.portGroupLabels.contains(vm.portGroup) {
                let near = host.portGroupLabels.map { "\"\($0)\"" }.joined(separator: ", ")
                add("\(path).port_group", "host \(host.name) has no port group \"\(vm.portGroup)\" (it has: \(near)); labels must match exactly, case included")
            }
            if !host.datastores.contains(vm.datastore) {
                add("\(path).datastore", "host \(host.name) does not mount datastore \"\(vm.datastore)\" (it mounts: \(host.datastores.joined(separator: ", ")))")
            }
            if let problem = outOfRange(vm.memoryMiB, Limits.vmMemory.named("memory_mib")) { add("\(path).memory_mib", problem) }
            if vm.touchedMiB < 0 || vm.touchedMiB > vm.memoryMiB { add("\(path).touched_mib", "touched_mib must be 0...memory_mib (\(vm.memoryMiB))") }
            if WorkloadSpec.preset(named: vm.workload) == nil {
                add("\(path).workload", "unknown workload \"\(vm.workload)\"; choose one of \(WorkloadSpec.presetNames.joined(separator: ", "))")
            }
            if let rate = vm.dirtyRate, let problem = outOfRange(rate, Limits.dirtyRate.named("dirty-rate")) {
                add("\(path).dirty-rate", problem)
            }
            memoryUse[host.name, default: 0] += vm.memoryMiB
        }
        for (index, host) in topology.hosts.enumerated() {
            if let used = memoryUse[host.name], used > host.memoryMiB, topology.host(named: host.name) == host {
                add("hosts[\(index)].memory_mib", "its VMs need \(used) MiB but the host has \(host.memoryMiB) MiB")
            }
        }
        for (index, client) in topology.clients.enumerated() {
            // Only the VMs in the client's VLAN (0 for an unaware port) share its subnet; other VLANs may use others.
            let vmOnSegment = topology.vms.filter { vm in
                topology.host(named: vm.host)?.uplink == client.switch && topology.vlan(of: vm) == (client.vlan ?? 0)
            }
            for vm in vmOnSegment where !client.address.contains(vm.ip.address) {
                add("clients[\(index)].address", "\(client.address) cannot reach VM \(vm.name) at \(vm.ip) without a router; put them in one subnet")
            }
        }
        return problems + vlanProblems(in: topology) + memberProblems(in: topology, nodeNames: Set(nodeNames.keys)) + machineProblems(in: topology)
    }

    static func isPlainName(_ text: String, maximum: Int, allowDash: Bool = false) -> Bool {
        !text.isEmpty && text.utf8.count <= maximum && text.allSatisfy {
            $0.isASCII && ($0.isLetter || $0.isNumber || (allowDash && ($0 == "-" || $0 == "_")))
        }
    }
}

/// The limit's message if `value` is out of its range, nil if it is fine.
func outOfRange(_ value: Int, _ limit: NumericLimit) -> String? {
    outOfRange(Double(value), limit)
}

func outOfRange(_ value: Double, _ limit: NumericLimit) -> String? {
    do { try limit.check(value) } catch { return error.message }
    return nil
}

/// What is wrong with a list of IPv6 interfaces a node gets: only unicast, non-link-local
/// addresses (the link-local one comes from the MAC), prefix 1...128, each once.
func ipv6Problems(_ interfaces: [IPv6Interface]) -> [String] {
    var problems: [String] = []
    for (index, interface) in interfaces.enumerated() {
        let address = interface.address
        if address.isUnspecified || address.isMulticast || address.isLinkLocal {
            problems.append("\(interface) must be a unicast address that is not link-local (the kernel forms fe80:: itself), like fd00:10:10::100/64")
        } else if interface.prefixLength == 0 {
            problems.append("\(interface): prefix /0 leaves no subnet; write it like fd00:10:10::100/64")
        }
        if interfaces.prefix(index).contains(where: { $0.address == address }) { problems.append("\(address) is listed twice") }
    }
    return problems
}
