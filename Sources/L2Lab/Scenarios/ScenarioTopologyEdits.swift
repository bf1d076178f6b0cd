/// The one-thing changes the scenarios make to a lab's topology.
extension Topology {
    /// Gives switch `name` a move hold-down (`--move-holddown`).
    mutating func setMoveHoldDown(seconds: Double, on name: String) {
        guard let index = switches.firstIndex(where: { $0.name == name }) else { return }
        switches[index].moveHolddown = seconds
    }

    /// Puts host `host`'s port group `label` on `vlan`, and lets its uplink trunk carry that VLAN.
    mutating func setPortGroupVLAN(host: String, label: String, vlan: Int) throws {
        guard let hostIndex = hosts.firstIndex(where: { $0.name == host }),
              let groupIndex = hosts[hostIndex].portGroups.firstIndex(where: { $0.label == label }) else {
            throw LabError("the scenario's lab has no port group \"\(label)\" on \(host)")
        }
        hosts[hostIndex].portGroups[groupIndex].vlan = vlan
        if var allowed = hosts[hostIndex].uplinkVLANs, !allowed.contains(vlan) {
            allowed.append(vlan)
            hosts[hostIndex].uplinkVLANs = allowed.sorted()
        }
    }

    /// Turns port security on for client `client`'s switch port.
    mutating func setPortSecurity(client: String, maxMACs: Int, sticky: Bool, violation: PortSecurityNode.Violation) {
        guard let index = clients.firstIndex(where: { $0.name == client }) else { return }
        clients[index].portSecurity = PortSecurityNode(maxMACs: maxMACs, sticky: sticky, violation: violation)
    }

    /// Sets "Forged transmits" on every host's port group `label`.
    mutating func setForgedTransmits(reject: Bool, label: String) throws {
        var found = false
        for hostIndex in hosts.indices {
            for groupIndex in hosts[hostIndex].portGroups.indices where hosts[hostIndex].portGroups[groupIndex].label == label {
                hosts[hostIndex].portGroups[groupIndex].forgedTransmits = reject ? .reject : .accept
                found = true
            }
        }
        guard found else { throw LabError("the scenario's lab has no port group \"\(label)\"") }
    }

    /// Gives host `host`'s vMotion switch port(s) their own MTU, apart from its vmk's.
    mutating func setVMkernelPortMTU(host: String, mtu: Int) throws {
        guard let index = hosts.firstIndex(where: { $0.name == host }) else { throw LabError("the scenario's lab has no host \(host)") }
        hosts[index].vmkPortMTU = mtu
    }
}
