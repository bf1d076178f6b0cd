import L2Control
import L2Wire

extension TopologyValidator {
    /// The rules of a lab across machines: machines with distinct names, underlay addresses and
    /// control sockets; every host, client and member placed on a known machine (and none placed
    /// when there are no machines); a datastore listed by hosts on several machines given the `path`
    /// that is shared storage on all of them; each segment between machines its own VNI and UDP port.
    static func machineProblems(in topology: Topology) -> [TopologyProblem] {
        var problems: [TopologyProblem] = []
        func add(_ path: String, _ message: String) { problems.append(TopologyProblem(path: path, line: nil, message: message)) }
        let names = topology.machines.map(\.name)
        var seenNames: [String: Int] = [:]
        var seenUnderlays: [IPv4Address: Int] = [:]
        var seenControls: [String: Int] = [:]
        for (index, machine) in topology.machines.enumerated() {
            let path = "machines[\(index)]"
            if !isPlainName(machine.name, maximum: 8) { add("\(path).name", "machine name \"\(machine.name)\" must be 1-8 letters or digits (its part runs as lab \(topology.name)-\(machine.name))") }
            if let other = seenNames[machine.name] { add("\(path).name", "machine \"\(machine.name)\" is already machines[\(other)]") } else { seenNames[machine.name] = index }
            if let other = seenUnderlays[machine.underlay] {
                add("\(path).underlay", "underlay address \(machine.underlay) is already machines[\(other)]'s; each machine's VXLAN ports need their own address")
            } else {
                seenUnderlays[machine.underlay] = index
            }
            if let control = machine.control {
                if let other = seenControls[control] { add("\(path).control", "control socket \(control) is already machines[\(other)]'s") } else { seenControls[control] = index }
                if !control.hasPrefix("/") || control.utf8.count >= 108 { add("\(path).control", "control socket \(control) must be an absolute path under 108 bytes") }
            }
        }
        func place(_ machine: String?, _ path: String, _ what: String) {
            switch (machine, topology.machines.isEmpty) {
            case (nil, false):
                add("\(path).machine", "\(what) needs a machine (one of \(names.joined(separator: ", "))): the lab spans machines")
            case let (name?, true):
                add("\(path).machine", "\(what) is placed on machine \"\(name)\" but the topology lists no machines; add them under machines")
            case let (name?, false) where !names.contains(name):
                add("\(path).machine", "no machine \"\(name)\"; machines are \(names.joined(separator: ", "))")
            default:
                break
            }
        }
        for (index, client) in topology.clients.enumerated() { place(client.machine, "clients[\(index)]", "client \(client.name)") }
        for (index, host) in topology.hosts.enumerated() { place(host.machine, "hosts[\(index)]", "host \(host.name)") }
        for (switchIndex, node) in topology.switches.enumerated() {
            for (index, member) in node.members.enumerated() {
                place(member.machine, "switches[\(switchIndex)].members[\(index)]", "member \(member.name)")
                if topology.spansMachines && member.name.hasPrefix("vx-") && names.contains(String(member.name.dropFirst(3))) {
                    add("switches[\(switchIndex)].members[\(index)].name", "\(member.name) is the name of the VXLAN port the lab makes to machine \(member.name.dropFirst(3)); choose another")
                }
            }
        }
        guard topology.spansMachines else { return problems }
        for (index, store) in topology.datastores.enumerated() where store.path == nil {
            let users = Set(topology.hosts.filter { $0.datastores.contains(store.name) }.compactMap(\.machine))
            if users.count > 1 {
                add("datastores[\(index)].path", "datastore \(store.name) is listed by hosts on machines \(users.sorted().joined(separator: ", ")); give it the path of a folder that is the same storage on each (an NFS mount), vMotion needs shared storage")
            }
        }
        for (index, store) in topology.datastores.enumerated() {
            if let path = store.path, !path.hasPrefix("/") { add("datastores[\(index)].path", "path \(path) must be absolute") }
        }
        var vnis: [UInt32: String] = [:]
        var ports: [UInt16: String] = [:]
        for (index, node) in topology.switches.enumerated() where topology.machines(ofSegment: node.name).count > 1 {
            let vni = topology.vni(ofSegment: node.name)
            let port = topology.vxlanPort(ofSegment: node.name)
            if !(1...16_777_215).contains(vni) { add("switches[\(index)].vni", "vni \(vni) is out of range; use 1...16777215") }
            if let other = vnis[vni] { add("switches[\(index)].vni", "vni \(vni) is already segment \(other)'s; each segment between machines needs its own") } else { vnis[vni] = node.name }
            if port == 0 { add("switches[\(index)].vxlan_port", "vxlan_port 0 is not a port; use 1...65535") }
            if let other = ports[port] {
                add("switches[\(index)].vxlan_port", "UDP port \(port) is already segment \(other)'s; each segment's switch binds its own port in the underlay")
            } else {
                ports[port] = node.name
            }
        }
        return problems
    }
}
