import L2Control
import L2Wire

/// Something outside the lab that joins one of its segments as a switch port: an interface that
/// exists (`attach`, with `netns`), a QEMU VM (`qemu`: the socket path its `-netdev stream` connects
/// to), or another switch over VXLAN (`vxlan`: the remote, with `vni`, `local`, `dstport`,
/// `underlay`). Listed under a switch's `members`; `lab up` makes the ports, `lab status` shows them.
public struct ExternalMemberNode: Codable, Sendable, Equatable {
    public var name: String
    public var attach: String?
    public var netns: String?
    public var qemu: String?
    public var vxlan: IPv4Address?
    public var vni: UInt32?
    public var local: IPv4Address?
    public var dstport: UInt16?
    public var underlay: String?
    /// Its switch port is an access port in this VLAN; nil: VLAN-unaware.
    public var vlan: Int?
    /// Its switch port is a trunk carrying these VLANs; nil: not a trunk.
    public var trunk: [Int]?
    /// What the capture says the port leads to; default: the endpoint in words.
    public var description: String?
    /// A lab across machines: the machine whose part of the segment has this port.
    public var machine: String?

    public init(name: String, attach: String? = nil, netns: String? = nil, qemu: String? = nil, vxlan: IPv4Address? = nil,
                vni: UInt32? = nil, local: IPv4Address? = nil, dstport: UInt16? = nil, underlay: String? = nil) {
        self.name = name
        self.attach = attach
        self.netns = netns
        self.qemu = qemu
        self.vxlan = vxlan
        self.vni = vni
        self.local = local
        self.dstport = dstport
        self.underlay = underlay
    }

    /// The port keys that say what the member is (`attach=vnet0,netns=X`, `qemu=PATH`,
    /// `vxlan=A,vni=N,...`), or nil when it names no kind or more than one (the validator says so).
    public var endpointKeys: [String]? {
        switch (attach, qemu, vxlan) {
        case let (interface?, nil, nil):
            return ["attach=\(interface)"] + (netns.map { ["netns=\($0)"] } ?? [])
        case let (nil, path?, nil):
            return ["qemu=\(path)"]
        case let (nil, nil, remote?):
            return ["vxlan=\(remote)", "vni=\(vni ?? 0)"] + (local.map { ["local=\($0)"] } ?? []) + (dstport.map { ["dstport=\($0)"] } ?? [])
                + (underlay.map { ["underlay=\($0)"] } ?? [])
        default:
            return nil
        }
    }

    /// Its VLAN keys (`vlan=10`, `trunk=10:20`).
    public var vlanKeys: [String] {
        (vlan.map { ["vlan=\($0)"] } ?? []) + (trunk.map { ["trunk=" + $0.map(String.init).joined(separator: ":")] } ?? [])
    }

    /// The member as a port spec on a switch whose MTU is `mtu`: what `lab up` passes and what the
    /// validator checks with the switch's own rules.
    public func portSpec(mtu: Int) throws(ConfigurationError) -> PortSpec {
        guard let keys = endpointKeys else {
            throw ConfigurationError("a member is one of attach, qemu or vxlan; give exactly one")
        }
        return try PortSpec(parsing: (["name=\(name)"] + keys + ["mtu=\(mtu)"] + vlanKeys).joined(separator: ","))
    }

    enum CodingKeys: String, CodingKey {
        case name, attach, netns, qemu, vxlan, vni, local, dstport, underlay, vlan, trunk, description, machine
    }
}
