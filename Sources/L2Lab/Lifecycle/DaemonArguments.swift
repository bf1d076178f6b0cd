import L2Control

/// The command-line arguments the lab starts its daemons with, made from the topology alone (pure,
/// so tests read exactly what `l2motion switch` and `l2motion host` get).
public enum DaemonArguments {
    /// The switch's own options beyond its ports: `--move-holddown S`, `--aging S` where the topology sets them.
    public static func switchOptions(_ node: SwitchNode) -> [String] {
        (node.moveHolddown.map { ["--move-holddown", seconds($0)] } ?? []) + (node.aging.map { ["--aging", seconds($0)] } ?? [])
    }

    /// One `--port` value per port of switch `switchName`:
    /// `name=P,netns=NS,ifname=IF,mtu=M[,addr=A][,addr6=A6[+…]][,vlan=|trunk=|max-macs=…|port-mtu=…],desc=TEXT`.
    public static func ports(of switchName: String, in topology: Topology) -> [String] {
        let mtu = topology.switchNode(named: switchName)?.mtu ?? 1500
        return topology.ports(of: switchName).map { port in
            let endpoint = port.endpoint.isEmpty ? ["netns=\(port.namespace)", "ifname=\(port.interface)"] : port.endpoint
            return (["name=\(port.node)"] + endpoint + ["mtu=\(mtu)"]
                + (port.address.map { ["addr=\($0)"] } ?? [])
                + (port.addresses6.isEmpty ? [] : ["addr6=" + port.addresses6.map(\.description).joined(separator: "+")]) + port.keys + ["desc=\(port.summary)"]).joined(separator: ",")
        }
    }

    /// One `--port-group` value per port group of `host` (`PortGroupSpec`): the bare label for the
    /// default lab's untagged groups.
    public static func portGroups(of host: HostNode) -> [String] {
        host.portGroups.map { PortGroupSpec.format($0.portGroup) }
    }

    /// Whole seconds as `3`, others as `0.5`.
    static func seconds(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
