import L2Control

extension TopologyValidator {
    /// The rules of external members (`switches[i].members[j]`): one kind each, a name no node or
    /// other member of the switch uses, the port's own rules (VNI range, path length, VLANs), and no
    /// socket path, attached interface or tunnel binding used twice in the lab.
    static func memberProblems(in topology: Topology, nodeNames: Set<String>) -> [TopologyProblem] {
        var problems: [TopologyProblem] = []
        func add(_ path: String, _ message: String) { problems.append(TopologyProblem(path: path, line: nil, message: message)) }
        var places: [String: String] = [:]
        for (switchIndex, node) in topology.switches.enumerated() {
            var names = Set<String>()
            for (index, member) in node.members.enumerated() {
                let path = "switches[\(switchIndex)].members[\(index)]"
                if !isPlainName(member.name, maximum: 32, allowDash: true) {
                    add("\(path).name", "name \"\(member.name)\" must be letters, digits, - or _")
                }
                if nodeNames.contains(member.name) || !names.insert(member.name).inserted {
                    add("\(path).name", "name \"\(member.name)\" is already a port of switch \(node.name)")
                }
                let kinds = [("attach", member.attach != nil), ("qemu", member.qemu != nil), ("vxlan", member.vxlan != nil)].filter(\.1).map(\.0)
                guard kinds.count == 1 else {
                    add(path, kinds.isEmpty ? "a member needs one of attach (an existing interface), qemu (a QEMU socket path) or vxlan (a remote tunnel end)"
                                            : "\(kinds.joined(separator: " and ")) exclude each other; a member is one thing")
                    continue
                }
                if member.vxlan != nil && member.vni == nil { add("\(path).vni", "a vxlan member needs vni (1...16777215), the same at both ends") }
                do {
                    let spec = try member.portSpec(mtu: node.mtu)
                    if let other = places[spec.place] {
                        add(path, "\(spec.place) is already used by \(other)")
                    } else {
                        places[spec.place] = path
                    }
                } catch {
                    add(path, error.message.replacingOccurrences(of: "port \(member.name): ", with: ""))
                }
            }
        }
        return problems
    }
}
