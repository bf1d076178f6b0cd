/// The embedded default lab of ARCHITECTURE.md §1: client01 on the production switch, esx01 and
/// esx02 with port group "Production" and a shared datastore, vmk1 on a 9000-byte vMotion segment,
/// and web01 running on esx01.
public enum DefaultTopology {
    public static let yaml = """
        # The default l2motion lab. Copy it, edit it, and pass it with --topology FILE.
        name: l2m
        switches:
          - name: pswitch          # the production network
            mtu: 1500
          - name: vmotion          # the vMotion segment: jumbo frames, headers-only capture
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
            memory_mib: 16384
            port_groups: [Production]
            datastores: [ds01]
          - name: esx02
            uplink: pswitch
            vmotion: vmotion
            vmk_address: 192.168.100.12/24
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
            # dirty-rate: 64       # MiB/s the workload writes instead of its preset's rate (0: none)
        """

    /// The parsed default (it is validated by the tests; a failure here is a programming error).
    public static func topology() -> Topology {
        do {
            return try TopologyLoader.parse(yaml: yaml, source: "the embedded default")
        } catch {
            fatalError("the embedded default topology is invalid: \(error)")
        }
    }
}
