import L2Guest

/// A port group as `l2motion host --port-group` takes it: `LABEL[,vlan=N][,forged-transmits=reject|accept]`
/// (`Production`, `Production,vlan=10,forged-transmits=reject`); the older `LABEL:N` still means VLAN N.
/// The lab writes its topology's port groups in this form (`format`).
public enum PortGroupSpec {
    static let keys = ["vlan", "forged-transmits"]
    static let form = "LABEL[,vlan=N][,forged-transmits=reject|accept]"

    /// Parses one `--port-group` value; the error names the part that is wrong and what to write.
    public static func parse(_ text: String) throws(ConfigurationError) -> PortGroup {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let head = parts[0]
        guard !head.isEmpty else { throw ConfigurationError("port group \"\(text)\": the label is empty; write \(form), like Production,vlan=10") }
        if parts.count == 1, let colon = head.firstIndex(of: ":") {
            let label = String(head[..<colon])
            let vlanText = String(head[head.index(after: colon)...])
            guard !label.isEmpty else { throw ConfigurationError("port group \"\(text)\": the label is empty; write \(form)") }
            return PortGroup(label: label, vlanID: try vlan(vlanText, group: label))
        }
        var group = PortGroup(label: head)
        var seen = Set<String>()
        for part in parts.dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, !pair[1].isEmpty else {
                throw ConfigurationError("port group \(head): \"\(part)\" is not key=value; write \(form)")
            }
            guard keys.contains(pair[0]) else {
                throw ConfigurationError("port group \(head): unknown key \"\(pair[0])\"; keys are \(keys.joined(separator: ", "))")
            }
            guard seen.insert(pair[0]).inserted else { throw ConfigurationError("port group \(head): \(pair[0]) is given twice") }
            if pair[0] == "vlan" {
                group.vlanID = try vlan(pair[1], group: head)
            } else {
                guard let policy = ForgedTransmitsPolicy(rawValue: pair[1]) else {
                    throw ConfigurationError("port group \(head): forged-transmits \"\(pair[1])\" must be reject or accept")
                }
                group.forgedTransmits = policy
            }
        }
        return group
    }

    /// The `--port-group` value for `group`: the bare label for an untagged group that accepts forged
    /// transmits (what the default lab passes), keys only where they differ from the defaults.
    public static func format(_ group: PortGroup) -> String {
        group.label + (group.vlanID == 0 ? "" : ",vlan=\(group.vlanID)")
            + (group.forgedTransmits == .accept ? "" : ",forged-transmits=\(group.forgedTransmits)")
    }

    static func vlan(_ text: String, group: String) throws(ConfigurationError) -> UInt16 {
        guard let value = Int(text), (try? Limits.portGroupVLAN.check(value)) != nil else {
            throw ConfigurationError("port group \(group): VLAN \"\(text)\" must be 0...4094 (0: untagged)")
        }
        return UInt16(value)
    }
}
