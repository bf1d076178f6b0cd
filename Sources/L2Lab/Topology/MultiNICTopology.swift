/// The default lab with Multi-NIC vMotion: each host has a second vMotion interface, vmk2, on a
/// second vMotion switch `vmotion2` (another subnet, also MTU 9000), so a migration with `--streams 2`
/// or more sends its lanes over both NICs (lane k over vmk(k mod 2 + 1), to the destination's NIC of
/// the same name).
public enum MultiNICTopology {
    public static let yaml = """
        # The l2motion lab with Multi-NIC vMotion: vmk1 on switch vmotion, vmk2 on switch vmotion2.
        # Migrate with --streams 2 (or more) to use both. Copy it, edit it, pass it with --topology FILE.
        name: l2m
        switches:
          - name: pswitch          # the production network
            mtu: 1500
          - name: vmotion          # the first vMotion segment (vmk1)
            mtu: 9000
            snaplen: 128
          - name: vmotion2         # the second vMotion segment (vmk2)
            mtu: 9000
            snaplen: 128
        clients:
          - name: client01
            switch: pswitch
            address: 10.10.0.100/24
        datastores:
          - name: ds01             # shared: both hosts mount the same folder under this name
        hosts:
          - name: esx01
            uplink: pswitch
            vmotion: vmotion
            vmk_address: 192.168.100.11/24
            vmotion2: vmotion2
            vmk2_address: 192.168.101.11/24
            memory_mib: 16384
            port_groups: [Production]
            datastores: [ds01]
          - name: esx02
            uplink: pswitch
            vmotion: vmotion
            vmk_address: 192.168.100.12/24
            vmotion2: vmotion2
            vmk2_address: 192.168.101.12/24
            memory_mib: 16384
            port_groups: [Production]
            datastores: [ds01]
        vms:
          - name: web01
            host: esx01
            datastore: ds01
            mac: "00:50:56:00:00:10"
            ip: 10.10.0.10/24
            memory_mib: 1024
            touched_mib: 256
            port_group: Production
            workload: web
        """
}

/// The topologies built in, by name (`l2motion lab topology --example NAME`, `lab up --example NAME`).
public enum TopologyExamples {
    /// Names and YAML, the default first.
    public static let all: [(name: String, yaml: String)] = [
        ("default", DefaultTopology.yaml),
        ("multi-nic", MultiNICTopology.yaml),
        ("vlan", VLANTopology.yaml),
        ("machines", MachinesTopology.yaml),
    ]

    public static var names: [String] { all.map(\.name) }

    /// The YAML of example `name`; an error naming the examples if there is none.
    public static func yaml(named name: String) throws(TopologyError) -> String {
        guard let example = all.first(where: { $0.name == name }) else {
            throw TopologyError(source: "--example \(name)", problems: [TopologyProblem(
                path: "", line: nil, message: "no example topology \"\(name)\"; the examples are \(names.joined(separator: ", "))")])
        }
        return example.yaml
    }

    /// Example `name`, parsed.
    public static func topology(named name: String) throws(TopologyError) -> Topology {
        try TopologyLoader.parse(yaml: try yaml(named: name), source: "the embedded example \(name)")
    }
}
