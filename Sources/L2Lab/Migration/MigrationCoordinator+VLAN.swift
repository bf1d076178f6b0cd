import L2Control
import L2Guest

/// The preflight's VLAN check. vCenter matches port groups by label only, so a VM can land on a
/// destination whose port group of that label is on another VLAN: the migration succeeds and the VM
/// is cut off. The coordinator matches labels exactly as vCenter does, then compares the VLAN ids:
/// a difference is a warning line among the checks, or with `--strict-vlan` a refusal.
extension MigrationCoordinator {
    /// What the VLAN check says about port group `label` on the two hosts: nothing when both are
    /// untagged, a check line when the VLANs agree, a warning line when they differ; throws instead
    /// of warning when `strict`.
    static func vlanCheck(vm: String, label: String, source: (name: String, groups: [PortGroup]),
                          destination: (name: String, groups: [PortGroup]), strict: Bool) throws(MigrationError) -> String? {
        guard let from = source.groups.first(where: { $0.label == label }),
              let to = destination.groups.first(where: { $0.label == label }) else { return nil }
        guard from.vlanID != to.vlanID else {
            return from.vlanID == 0 ? nil : "port group VLAN: \"\(label)\" is VLAN \(from.vlanID) on \(source.name) and \(destination.name)"
        }
        let difference = "port group \"\(label)\" is \(vlanName(from.vlanID)) on \(source.name) but \(vlanName(to.vlanID)) on \(destination.name)"
        let frames = to.vlanID == 0 ? "untagged" : "on VLAN \(to.vlanID)"
        if strict {
            let fix = from.vlanID == 0 ? "make \(destination.name)'s port group untagged" : "give \(destination.name)'s port group VLAN \(from.vlanID)"
            throw MigrationError("\(difference); --strict-vlan refuses: \(vm) would be unreachable on \(network(from.vlanID)) after the migration (its frames would go out \(frames)). To migrate, \(fix), or leave out --strict-vlan")
        }
        return "WARNING VLAN mismatch: \(difference); labels match, so vCenter would allow it, but \(vm) will be unreachable on \(network(from.vlanID)) after the migration (its frames will go out \(frames))"
    }

    static func vlanName(_ vlan: UInt16) -> String { vlan == 0 ? "untagged (VLAN 0)" : "VLAN \(vlan)" }
    static func network(_ vlan: UInt16) -> String { vlan == 0 ? "the untagged network" : "VLAN \(vlan)" }
}
