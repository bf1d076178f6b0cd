import L2Wire

/// A port group on a host's virtual switch: a label VMs join by (matched exactly, case included)
/// and a VLAN id (0 = untagged; recorded, not yet used for tagging).
public struct PortGroup: Hashable, Sendable, Codable, CustomStringConvertible {
    public var label: String
    public var vlanID: UInt16

    public init(label: String, vlanID: UInt16 = 0) {
        self.label = label
        self.vlanID = vlanID
    }

    public var description: String { vlanID == 0 ? "\"\(label)\"" : "\"\(label)\" (VLAN \(vlanID))" }
}

/// A VM NIC plugged into a port group.
public struct VirtualPort: Hashable, Sendable {
    public var vmName: String
    public var mac: MACAddress
    public var ip: IPv4Address?
    public var portGroup: String
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

/// Where the virtual switch sends one frame: to these VM NICs and/or out of the uplink.
public struct VirtualSwitchDelivery: Hashable, Sendable {
    /// VM NICs (by MAC) that receive the frame, in attach order.
    public var nics: [MACAddress]
    /// Whether the frame leaves through the uplink (`vmnic0`).
    public var uplink: Bool

    public init(nics: [MACAddress] = [], uplink: Bool = false) {
        self.nics = nics
        self.uplink = uplink
    }

    public static let drop = VirtualSwitchDelivery()
}

/// A host's virtual switch (like an ESXi standard vSwitch): port groups, the VM NICs attached to
/// them, and the delivery decision. Pure: given a frame, it says where it goes.
///
/// From the uplink: unicast to the one NIC with that destination MAC, broadcast and multicast to
/// every NIC (each port group is one broadcast domain; with VLAN 0 everywhere all NICs share it).
/// From a VM: unicast to a NIC on this host in the same port group stays local (a physical switch
/// would not send it back down the port it came from); anything else goes out of the uplink,
/// broadcast and multicast also to the other local NICs of the port group. A VM never gets its own frame.
public struct VirtualSwitch: Sendable {
    public let hostName: String
    public private(set) var portGroups: [PortGroup] = []
    public private(set) var ports: [VirtualPort] = []

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

    /// Where a frame that arrived on the uplink goes. Frames shorter than an Ethernet header are dropped.
    public func deliverFromUplink<C: Collection>(_ frame: C) -> VirtualSwitchDelivery where C.Element == UInt8 {
        guard frame.count >= 14 else { return .drop }
        let destination = MACAddress(bytes: frame, at: frame.startIndex)
        if destination.isMulticast { return VirtualSwitchDelivery(nics: ports.map(\.mac)) }
        return ports.contains { $0.mac == destination } ? VirtualSwitchDelivery(nics: [destination]) : .drop
    }

    /// Where a frame sent by the VM NIC `source` goes. A NIC that is not attached sends nothing.
    public func deliverFromVM<C: Collection>(_ frame: C, from source: MACAddress) -> VirtualSwitchDelivery where C.Element == UInt8 {
        guard frame.count >= 14, let sender = port(for: source) else { return .drop }
        let destination = MACAddress(bytes: frame, at: frame.startIndex)
        let neighbours = ports.filter { $0.portGroup == sender.portGroup && $0.mac != source }
        if destination.isMulticast { return VirtualSwitchDelivery(nics: neighbours.map(\.mac), uplink: true) }
        if destination == source { return .drop }
        if neighbours.contains(where: { $0.mac == destination }) { return VirtualSwitchDelivery(nics: [destination]) }
        return VirtualSwitchDelivery(uplink: true)
    }
}
