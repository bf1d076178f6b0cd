import L2Control

/// The rules of the VLAN, port-security and switch-timer fields: ranges, and that every VLAN a host's
/// port groups use can reach its uplink's switch port.
extension TopologyValidator {
    static let moveHolddown = NumericLimit("move-holddown", "seconds", 0...3_600)
    static let accessVLAN = NumericLimit("vlan", "", 1...4_094, integral: true)
    static let trunkVLAN = NumericLimit("uplink_vlans", "", 1...4_094, integral: true)
    static let maximumMACs = NumericLimit("max_macs", "MACs", 1...4_096, integral: true)

    static func vlanProblems(in topology: Topology) -> [TopologyProblem] {
        var problems: [TopologyProblem] = []
        func add(_ path: String, _ message: String) { problems.append(TopologyProblem(path: path, line: nil, message: message)) }

        for (index, node) in topology.switches.enumerated() {
            if let value = node.moveHolddown, let problem = outOfRange(value, moveHolddown) { add("switches[\(index)].move-holddown", problem) }
            if let value = node.aging, let problem = outOfRange(value, Limits.agingSeconds.named("aging")) { add("switches[\(index)].aging", problem) }
        }
        for (index, client) in topology.clients.enumerated() {
            let path = "clients[\(index)]"
            if let vlan = client.vlan, let problem = outOfRange(vlan, accessVLAN) { add("\(path).vlan", problem) }
            if let security = client.portSecurity, let problem = outOfRange(security.maxMACs, maximumMACs) {
                add("\(path).port_security.max_macs", problem)
            }
        }
        for (index, host) in topology.hosts.enumerated() {
            let path = "hosts[\(index)]"
            if let mtu = host.vmkPortMTU, let problem = outOfRange(mtu, Limits.mtu.named("vmk_port_mtu")) { add("\(path).vmk_port_mtu", problem) }
            if let trunk = host.uplinkVLANs {
                if trunk.isEmpty { add("\(path).uplink_vlans", "a trunk needs at least one VLAN; list the port groups' VLANs, or leave uplink_vlans out for an untagged uplink") }
                for vlan in trunk { if let problem = outOfRange(vlan, trunkVLAN) { add("\(path).uplink_vlans", problem) } }
                if Set(trunk).count != trunk.count { add("\(path).uplink_vlans", "a VLAN is listed twice") }
            }
            let awareSwitch = isVLANAware(host.uplink, in: topology)
            for (position, group) in host.portGroups.enumerated() {
                let groupPath = "\(path).port_groups[\(position)]"
                if let problem = outOfRange(group.vlan, Limits.portGroupVLAN) {
                    add("\(groupPath).vlan", problem)
                    continue
                }
                if let trunk = host.uplinkVLANs, !trunk.isEmpty {
                    if group.vlan == 0 {
                        add("\(groupPath).vlan", "port group \"\(group.label)\" is untagged, but the uplink is a trunk (uplink_vlans), where the switch drops untagged frames; give it a vlan from \(list(trunk))")
                    } else if !trunk.contains(group.vlan) {
                        add("\(groupPath).vlan", "VLAN \(group.vlan) of port group \"\(group.label)\" is not allowed on the trunk uplink_vlans \(list(trunk)); add it there")
                    }
                } else if group.vlan != 0 && awareSwitch {
                    add("\(groupPath).vlan", "port group \"\(group.label)\" is on VLAN \(group.vlan) but \(host.name)'s uplink port on \(host.uplink) is not a trunk, and \(host.uplink) has VLAN ports; add uplink_vlans: [\(group.vlan)]")
                }
            }
        }
        return problems
    }

    /// Whether any port of switch `name` is configured for VLANs (an access client or a trunk uplink);
    /// a switch without any passes tags through unchanged.
    static func isVLANAware(_ name: String, in topology: Topology) -> Bool {
        topology.clients.contains { $0.switch == name && $0.vlan != nil }
            || topology.hosts.contains { $0.uplink == name && $0.uplinkVLANs != nil }
    }

    static func list(_ vlans: [Int]) -> String { "[" + vlans.map(String.init).joined(separator: ", ") + "]" }
}

extension Topology {
    /// The VLAN of the port group `vm` joins on its host (0 if either is missing).
    public func vlan(of vm: VMNode) -> Int {
        host(named: vm.host)?.portGroups.first { $0.label == vm.portGroup }?.vlan ?? 0
    }
}
