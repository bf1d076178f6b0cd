import L2Wire

/// Why a host refused a VM; each message names what exists instead.
public enum HostInventoryError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidConfiguration(VMConfigurationError)
    case nameInUse(vm: String, host: String)
    case notEnoughMemory(vm: String, neededMiB: Int, host: String, freeMiB: Int, limitMiB: Int, inUse: [String])
    case network(VirtualSwitchError)
    case vmNotFound(vm: String, host: String, existing: [String])

    public var description: String {
        switch self {
        case let .invalidConfiguration(error):
            return error.description
        case let .nameInUse(vm, host):
            return "a VM named \"\(vm)\" is already registered on \(host)"
        case let .notEnoughMemory(vm, needed, host, free, limit, inUse):
            let users = inUse.isEmpty ? "" : " (in use: \(inUse.joined(separator: ", ")))"
            return "VM \"\(vm)\" needs \(needed) MiB but \(host) has \(free) MiB free of \(limit) MiB\(users)"
        case let .network(error):
            return error.description
        case let .vmNotFound(vm, host, existing):
            let list = existing.isEmpty ? "no VMs" : existing.map { "\"\($0)\"" }.joined(separator: ", ")
            return "VM \"\(vm)\" is not registered on \(host) (it has: \(list))"
        }
    }
}

/// A host's admission control: the VMs registered on it, its memory limit and its virtual switch.
/// `check` says whether a VM fits without changing anything; `register` checks and then commits
/// (memory reserved, NIC attached) — all or nothing.
public struct HostInventory: Sendable {
    public let hostName: String
    public let memoryLimitMiB: Int
    public private(set) var virtualSwitch: VirtualSwitch
    public private(set) var vms: [VMConfiguration] = []

    public init(hostName: String, memoryLimitMiB: Int, portGroups: [PortGroup]) throws(VirtualSwitchError) {
        self.hostName = hostName
        self.memoryLimitMiB = memoryLimitMiB
        virtualSwitch = try VirtualSwitch(hostName: hostName, portGroups: portGroups)
    }

    public var usedMemoryMiB: Int { vms.reduce(0) { $0 + $1.memoryMiB } }
    public var freeMemoryMiB: Int { memoryLimitMiB - usedMemoryMiB }

    public func vm(named name: String) -> VMConfiguration? { vms.first { $0.name == name } }

    /// Throws the first reason `config` cannot run here; changes nothing.
    public func check(_ config: VMConfiguration) throws(HostInventoryError) {
        let problems = config.validate()
        guard problems.isEmpty else { throw .invalidConfiguration(VMConfigurationError(problems)) }
        guard vm(named: config.name) == nil else { throw .nameInUse(vm: config.name, host: hostName) }
        do {
            try virtualSwitch.checkAttach(vm: config.name, nic: config.mac, ip: config.ip.address, to: config.portGroup)
        } catch {
            throw .network(error)
        }
        guard config.memoryMiB <= freeMemoryMiB else {
            throw .notEnoughMemory(vm: config.name, neededMiB: config.memoryMiB, host: hostName, freeMiB: freeMemoryMiB,
                                   limitMiB: memoryLimitMiB, inUse: vms.map { "\($0.name) \($0.memoryMiB) MiB" })
        }
    }

    /// Checks, then reserves the memory and attaches the NIC.
    public mutating func register(_ config: VMConfiguration) throws(HostInventoryError) {
        try check(config)
        do {
            try virtualSwitch.attach(vm: config.name, nic: config.mac, ip: config.ip.address, to: config.portGroup)
        } catch {
            throw .network(error)
        }
        vms.append(config)
    }

    /// Adds a port group to the virtual switch (`esxcli network vswitch standard portgroup add`).
    public mutating func addPortGroup(_ group: PortGroup) throws(HostInventoryError) {
        do { try virtualSwitch.addPortGroup(group) } catch { throw .network(error) }
    }

    /// Removes a port group; refused while a registered VM's NIC is plugged into it.
    public mutating func removePortGroup(labelled label: String, reserved: Set<String> = []) throws(HostInventoryError) {
        do { try virtualSwitch.removePortGroup(labelled: label, reserved: reserved) } catch { throw .network(error) }
    }

    /// Where a frame sent by the VM NIC `source` goes (`VirtualSwitch.deliverFromVM`; it counts the
    /// forged transmits its port groups reject).
    public mutating func deliverFromVM(_ frame: ArraySlice<UInt8>, from source: MACAddress) -> VirtualSwitchDelivery {
        virtualSwitch.deliverFromVM(frame, from: source)
    }

    /// Releases the VM's memory and detaches its NIC.
    public mutating func unregister(vm name: String) throws(HostInventoryError) {
        guard let index = vms.firstIndex(where: { $0.name == name }) else {
            throw .vmNotFound(vm: name, host: hostName, existing: vms.map(\.name))
        }
        try? virtualSwitch.detach(nic: vms[index].mac)
        vms.remove(at: index)
    }
}
