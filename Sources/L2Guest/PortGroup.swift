/// vSphere's port-group security policy "Forged transmits": whether the virtual switch lets a VM
/// send frames whose source MAC is not its NIC's own (accept, vSphere's default on a standard
/// switch) or drops them at the VM's port (reject), before they reach the uplink or another VM.
public enum ForgedTransmitsPolicy: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case accept
    case reject

    public var description: String { rawValue }
}

/// A port group on a host's virtual switch: a label VMs join by (matched exactly, case included),
/// a VLAN id (0 = untagged; otherwise the virtual switch tags the group's frames on the uplink and
/// delivers it the frames tagged with it: vSphere's Virtual Switch Tagging) and its forged-transmits
/// policy.
public struct PortGroup: Hashable, Sendable, Codable, CustomStringConvertible {
    public var label: String
    public var vlanID: UInt16
    public var forgedTransmits: ForgedTransmitsPolicy

    public init(label: String, vlanID: UInt16 = 0, forgedTransmits: ForgedTransmitsPolicy = .accept) {
        self.label = label
        self.vlanID = vlanID
        self.forgedTransmits = forgedTransmits
    }

    /// `"Production"`, `"Production" (VLAN 10)`, `"Production" (VLAN 10, forged transmits reject)`.
    public var description: String { "\"\(label)\"" + (settings.map { " (\($0))" } ?? "") }

    /// What differs from an untagged port group accepting forged transmits, in words
    /// (`VLAN 10, forged transmits reject`); nil when nothing does.
    public var settings: String? {
        let notes = (vlanID == 0 ? [] : ["VLAN \(vlanID)"]) + (forgedTransmits == .accept ? [] : ["forged transmits \(forgedTransmits)"])
        return notes.isEmpty ? nil : notes.joined(separator: ", ")
    }

    enum CodingKeys: String, CodingKey {
        case label, vlanID
        case forgedTransmits = "forged_transmits"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        label = try container.decode(String.self, forKey: .label)
        vlanID = try container.decodeIfPresent(UInt16.self, forKey: .vlanID) ?? 0
        forgedTransmits = try container.decodeIfPresent(ForgedTransmitsPolicy.self, forKey: .forgedTransmits) ?? .accept
    }
}
