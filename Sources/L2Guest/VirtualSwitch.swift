import L2Wire

/// A VM NIC plugged into a port group.
public struct VirtualPort: Hashable, Sendable {
    public var vmName: String
    public var mac: MACAddress
    public var ip: IPv4Address?
    public var portGroup: String
    /// Frames this NIC sent with another source MAC that its port group's "forged transmits: reject"
    /// dropped.
    public var forgedTransmitDrops = 0
}

/// Why the virtual switch refused a change; each message says what exists instead.
public enum VirtualSwitchError: Error, Hashable, Sendable, CustomStringConvertible {
    case portGroupNotFound(label: String, host: String, existing: [String])
    case duplicatePortGroup(label: String, host: String)
    /// A port group cannot be removed while VM NICs are plugged into it (ESXi refuses too).
    case portGroupInUse(label: String, host: String, vms: [String])
    case invalidPortGroup(label: String, reason: String)
    case macInUse(mac: MACAddress, vm: String, usedBy: String, host: String)
    case ipInUse(ip: IPv4Address, vm: String, usedBy: String, host: String)
    case nicNotAttached(mac: MACAddress, host: String)

    public var description: String {
        switch self {
        case let .portGroupNotFound(label, host, existing):
            let list = existing.isEmpty ? "no port groups" : existing.map { "\"\($0)\"" }.joined(separator: ", ")
            let caseHint = existing.contains { $0.lowercased() == label.lowercased() }
                ? "; labels must match exactly, case included" : ""
            return "port group \"\(label)\" not found on \(host) (it has: \(list))\(caseHint)"
        case let .duplicatePortGroup(label, host):
            return "port group \"\(label)\" already exists on \(host)"
        case let .portGroupInUse(label, host, vms):
            let list = vms.map { "\"\($0)\"" }.joined(separator: ", ")
            let noun = vms.count == 1 ? "VM" : "VMs"
            return "port group \"\(label)\" on \(host) is in use by \(noun) \(list); power \(vms.count == 1 ? "it" : "them") off or migrate \(vms.count == 1 ? "it" : "them") to another host first"
        case let .invalidPortGroup(label, reason):
            return "port group \"\(label)\": \(reason)"
        case let .macInUse(mac, vm, usedBy, host):
            return "MAC \(mac) of VM \"\(vm)\" is already used by VM \"\(usedBy)\" on \(host)"
        case let .ipInUse(ip, vm, usedBy, host):
            return "IP \(ip) of VM \"\(vm)\" is already used by VM \"\(usedBy)\" on \(host)"
        case let .nicNotAttached(mac, host):
            return "no VM NIC with MAC \(mac) is attached on \(host)"
        }
    }
}

/// A host's virtual switch (like an ESXi standard vSwitch): port groups, the VM NICs attached to
/// them, and the delivery decision (`VirtualSwitch+Delivery`). Pure: given a frame, it says where it
/// goes; the only state it changes while forwarding is its forged-transmit counters.
public struct VirtualSwitch: Sendable {
    public let hostName: String
    public private(set) var portGroups: [PortGroup] = []
    public internal(set) var ports: [VirtualPort] = []
    /// Frames dropped by a port group's "forged transmits: reject" since the switch was made (the
    /// NICs' own counts go with them when they detach; this total stays).
    public internal(set) var forgedTransmitDrops = 0

    public init(hostName: String, portGroups: [PortGroup] = []) throws(VirtualSwitchError) {
        self.hostName = hostName
        for group in portGroups { try addPortGroup(group) }
    }

    public mutating func addPortGroup(_ group: PortGroup) throws(VirtualSwitchError) {
        guard !group.label.isEmpty else { throw .invalidPortGroup(label: group.label, reason: "the label must not be empty") }
        guard group.vlanID <= 4094 else { throw .invalidPortGroup(label: group.label, reason: "VLAN id \(group.vlanID) is outside 0...4094") }
        guard portGroup(labelled: group.label) == nil else { throw .duplicatePortGroup(label: group.label, host: hostName) }
        portGroups.append(group)
    }

    /// Removes the port group labelled exactly `label`; refused while a VM NIC is plugged into it.
    /// VMs in `reserved` (a migration's incoming copies, not yet connected) do not hold it: their port
    /// keeps the label, and the migration's switchover-ack finds the port group gone.
    public mutating func removePortGroup(labelled label: String, reserved: Set<String> = []) throws(VirtualSwitchError) {
        guard let index = portGroups.firstIndex(where: { $0.label == label }) else {
            throw .portGroupNotFound(label: label, host: hostName, existing: portGroups.map(\.label))
        }
        let users = ports.filter { $0.portGroup == label && !reserved.contains($0.vmName) }.map(\.vmName)
        guard users.isEmpty else { throw .portGroupInUse(label: label, host: hostName, vms: users) }
        portGroups.remove(at: index)
    }

    /// The port group whose label is exactly `label` (case-sensitive).
    public func portGroup(labelled label: String) -> PortGroup? {
        portGroups.first { $0.label == label }
    }

    /// Checks that a NIC could be attached, without attaching it.
    public func checkAttach(vm name: String, nic mac: MACAddress, ip: IPv4Address?, to label: String) throws(VirtualSwitchError) {
        guard portGroup(labelled: label) != nil else {
            throw .portGroupNotFound(label: label, host: hostName, existing: portGroups.map(\.label))
        }
        if let other = ports.first(where: { $0.mac == mac }) {
            throw .macInUse(mac: mac, vm: name, usedBy: other.vmName, host: hostName)
        }
        if let ip, let other = ports.first(where: { $0.ip == ip }) {
            throw .ipInUse(ip: ip, vm: name, usedBy: other.vmName, host: hostName)
        }
    }

    /// Plugs VM `name`'s NIC into the port group labelled exactly `label`.
    public mutating func attach(vm name: String, nic mac: MACAddress, ip: IPv4Address? = nil, to label: String) throws(VirtualSwitchError) {
        try checkAttach(vm: name, nic: mac, ip: ip, to: label)
        ports.append(VirtualPort(vmName: name, mac: mac, ip: ip, portGroup: label))
    }

    /// Unplugs a NIC.
    public mutating func detach(nic mac: MACAddress) throws(VirtualSwitchError) {
        guard let index = ports.firstIndex(where: { $0.mac == mac }) else { throw .nicNotAttached(mac: mac, host: hostName) }
        ports.remove(at: index)
    }

    public func port(for mac: MACAddress) -> VirtualPort? { ports.first { $0.mac == mac } }
}
