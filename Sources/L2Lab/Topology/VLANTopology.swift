/// The default lab with 802.1Q VLANs: port group "Production" is VLAN 10 on both hosts, whose
/// virtual switches tag web01's frames on the uplink (vSphere's Virtual Switch Tagging); the hosts'
/// uplink ports on pswitch are trunks carrying VLAN 10, and client01's port is an access port in
/// VLAN 10, so client01 sends and receives untagged frames and web01's RARPs go out tagged.
public enum VLANTopology {
    public static let yaml = """
        # The l2motion lab with VLANs: Production is VLAN 10, the hosts' uplinks are trunks, client01 an
        # access port. Copy it, edit it, pass it with --topology FILE.
        name: l2m
        switches:
          - name: pswitch          # the production network, VLAN-aware
            mtu: 1500
          - name: vmotion          # the vMotion segment: jumbo frames, headers-only capture
            mtu: 9000
            snaplen: 128
        clients:
          - name: client01
            switch: pswitch
            address: 10.10.0.100/24
            vlan: 10               # an access port: untagged on client01's side, VLAN 10 inside the switch
        datastores:
          - name: ds01             # shared: both hosts mount the same folder under this name
        hosts:
          - name: esx01
            uplink: pswitch
            vmotion: vmotion
            vmk_address: 192.168.100.11/24
            memory_mib: 16384
            uplink_vlans: [10]     # vmnic0's switch port is a trunk carrying these VLANs, tagged
            port_groups:
              - {label: Production, vlan: 10}
            datastores: [ds01]
          - name: esx02
            uplink: pswitch
            vmotion: vmotion
            vmk_address: 192.168.100.12/24
            memory_mib: 16384
            uplink_vlans: [10]
            port_groups:
              - {label: Production, vlan: 10}
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
