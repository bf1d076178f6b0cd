import L2Control
import L2Guest

/// The host's port groups, editable while it runs like `esxcli network vswitch standard portgroup
/// add/remove`. The set lives in the inventory's virtual switch, under `stateLock`; `settings.portGroups`
/// is only what the host started with.
extension HostDaemon {
    /// The port groups now, in the order they were added.
    func portGroups() -> [PortGroup] {
        stateLock.withLock { inventory.virtualSwitch.portGroups }
    }

    /// The labels of the port groups now (matched exactly, case included).
    func portGroupLabels() -> [String] {
        portGroups().map(\.label)
    }

    /// Adds a port group (untagged and accepting forged transmits unless said otherwise); refused if
    /// the label exists or is empty, or the VLAN is outside 0...4094. Returns the port groups now.
    func addPortGroup(_ group: PortGroup) throws -> [PortGroup] {
        let groups = try stateLock.withLock {
            try Self.translate { () throws(HostInventoryError) in try inventory.addPortGroup(group) }
            return inventory.virtualSwitch.portGroups
        }
        logger.info("port group \(group) added")
        return groups
    }

    /// Removes a port group; refused if it does not exist or a VM here uses it (the message names the
    /// VMs). A VM still arriving by migration does not hold it, as on ESXi, where the incoming VM's
    /// port connects at the switchover: that migration's switchover-ack then refuses, and the VM stays
    /// on its source. Returns the port groups now.
    func removePortGroup(label: String) throws -> [PortGroup] {
        let groups = try stateLock.withLock {
            let arriving = Set(vms.values.filter { $0.with { $0.state == .migratingIn } }.map(\.name))
            try Self.translate { () throws(HostInventoryError) in try inventory.removePortGroup(labelled: label, reserved: arriving) }
            return inventory.virtualSwitch.portGroups
        }
        logger.info("port group \"\(label)\" removed")
        return groups
    }

    /// Runs an inventory change; its refusal becomes a control error with the code that fits.
    private static func translate(_ change: () throws(HostInventoryError) -> Void) throws(ControlError) {
        do {
            try change()
        } catch {
            let code: ControlErrorCode = switch error {
            case .network(.portGroupNotFound): .notFound
            case .network(.invalidPortGroup): .invalidArgument
            default: .refused
            }
            throw ControlError(code, "\(error)")
        }
    }
}
