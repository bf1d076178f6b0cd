import L2Guest

/// A host's port group in a topology: a plain label (`Production`: untagged, forged transmits
/// accepted) or a mapping `{label: Production, vlan: 10, forged_transmits: reject}`. It is written back
/// the same way: the plain label when nothing differs from the defaults.
public struct PortGroupNode: Codable, Sendable, Equatable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var label: String
    /// 0 (untagged) or the VLAN id; the validator checks 0...4094.
    public var vlan: Int
    public var forgedTransmits: ForgedTransmitsPolicy

    public init(label: String, vlan: Int = 0, forgedTransmits: ForgedTransmitsPolicy = .accept) {
        self.label = label
        self.vlan = vlan
        self.forgedTransmits = forgedTransmits
    }

    public init(stringLiteral label: String) { self.init(label: label) }

    /// The host's port group (call once the validator has accepted the VLAN).
    public var portGroup: PortGroup {
        PortGroup(label: label, vlanID: UInt16(clamping: vlan), forgedTransmits: forgedTransmits)
    }

    /// `Production`, `Production (VLAN 10)`, `Production (VLAN 10, forged transmits reject)`.
    public var description: String { label + (portGroup.settings.map { " (\($0))" } ?? "") }

    enum CodingKeys: String, CodingKey {
        case label, vlan
        case forgedTransmits = "forged_transmits"
    }

    public init(from decoder: any Decoder) throws {
        if let label = try? decoder.singleValueContainer().decode(String.self) {
            self.init(label: label)
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let policy = try container.decodeIfPresent(String.self, forKey: .forgedTransmits) ?? "accept"
        guard let value = ForgedTransmitsPolicy(rawValue: policy) else {
            throw DecodingError.dataCorruptedError(forKey: .forgedTransmits, in: container,
                                                   debugDescription: "forged_transmits must be reject or accept, not \"\(policy)\"")
        }
        self.init(label: try container.decode(String.self, forKey: .label),
                  vlan: try container.decodeIfPresent(Int.self, forKey: .vlan) ?? 0, forgedTransmits: value)
    }

    public func encode(to encoder: any Encoder) throws {
        guard vlan != 0 || forgedTransmits != .accept else {
            var single = encoder.singleValueContainer()
            try single.encode(label)
            return
        }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(label, forKey: .label)
        try container.encode(vlan, forKey: .vlan)
        try container.encode(forgedTransmits, forKey: .forgedTransmits)
    }
}

/// Port security on a client's switch port (`port_security: {max_macs: 1, sticky: true, violation:
/// drop}`): at most `maxMACs` source MACs learned there; `sticky` keeps the first ones for good; a
/// frame from one more MAC is dropped (`drop`) or shuts the port (`shut`). The switch enforces it.
public struct PortSecurityNode: Codable, Sendable, Equatable {
    /// What the switch does with a frame from a MAC beyond the limit.
    public enum Violation: String, Codable, Sendable, CaseIterable {
        case drop, shut
    }

    public var maxMACs: Int
    public var sticky: Bool
    public var violation: Violation

    public init(maxMACs: Int = 1, sticky: Bool = false, violation: Violation = .drop) {
        self.maxMACs = maxMACs
        self.sticky = sticky
        self.violation = violation
    }

    /// The switch port keys of the contract: `max-macs=1,sticky=yes,violation=drop`.
    public var portKeys: [String] {
        ["max-macs=\(maxMACs)", "sticky=\(sticky ? "yes" : "no")", "violation=\(violation.rawValue)"]
    }

    enum CodingKeys: String, CodingKey {
        case sticky, violation
        case maxMACs = "max_macs"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        maxMACs = try container.decodeIfPresent(Int.self, forKey: .maxMACs) ?? 1
        sticky = try container.decodeIfPresent(Bool.self, forKey: .sticky) ?? false
        let text = try container.decodeIfPresent(String.self, forKey: .violation) ?? "drop"
        guard let value = Violation(rawValue: text) else {
            throw DecodingError.dataCorruptedError(forKey: .violation, in: container,
                                                   debugDescription: "violation must be drop or shut, not \"\(text)\"")
        }
        violation = value
    }
}
