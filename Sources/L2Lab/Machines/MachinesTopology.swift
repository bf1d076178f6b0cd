/// The example lab across two machines (`lab topology --example machines`): the default lab with
/// client01 and esx01 on machine a, esx02 on machine b, the production and vMotion segments joined
/// by VXLAN between their underlay addresses, and ds01 on shared storage.
public enum MachinesTopology {
    public static let yaml = """
        # The default lab split over two machines. On machine a: l2motion lab up --topology FILE --machine a
        # on machine b: l2motion lab up --topology FILE --machine b. See docs/MACHINES.md.
        name: l2m
        machines:
          - name: a
            underlay: 192.0.2.1             # this machine's address towards the other (VXLAN runs over it)
            control: /run/l2motion-remote/a.sock   # where b's coordinator finds a's relay (ssh -L)
          - name: b
            underlay: 192.0.2.2
            control: /run/l2motion-remote/b.sock
        switches:
          - name: pswitch                   # VNI 5001, UDP 4789 between the machines
            mtu: 1500
          - name: vmotion                   # VNI 5002, UDP 4790; needs an underlay MTU of 9050
            mtu: 9000
            snaplen: 128
        clients:
          - name: client01
            machine: a
            switch: pswitch
            address: 10.10.0.100/24
        datastores:
          - name: ds01
            path: /srv/l2motion/ds01        # the same storage on both machines (an NFS mount)
        hosts:
          - name: esx01
            machine: a
            uplink: pswitch
            vmotion: vmotion
            vmk_address: 192.168.100.11/24
            port_groups: [Production]
            datastores: [ds01]
          - name: esx02
            machine: b
            uplink: pswitch
            vmotion: vmotion
            vmk_address: 192.168.100.12/24
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
