import Foundation
import L2Edge
import L2Lab

/// Two "machines" on this one for a lab across machines: the example topology `machines` brought up
/// as two parts with `l2motion lab up --machine a` and `--machine b`, their underlay namespaces
/// joined by a veth (`VXLANNetworks.Underlay`, addresses of the sandbox's own), each machine's
/// control socket its relay's own path (on real machines an ssh -L forward), ds01 a folder of the
/// sandbox that both parts mount.
final class MachinesLab: @unchecked Sendable {
    let sandbox: Sandbox
    let name: String
    let underlay: VXLANNetworks.Underlay
    let file: String

    /// `machines`: the parts to bring up (both by default); `underlayMTU`: the veth's MTU.
    init(machines: [String] = ["a", "b"], underlayMTU: Int = 9050, memory: Int = 128, touched: Int = 32, dirtyRate: Int? = nil) throws {
        sandbox = try Sandbox()
        name = TestLab.uniqueName()
        do {
            underlay = try VXLANNetworks.Underlay(sandbox, mtu: underlayMTU)
        } catch {
            sandbox.tearDown()
            throw error
        }
        let datastore = sandbox.directory + "/ds01"
        try FileManager.default.createDirectory(atPath: datastore, withIntermediateDirectories: true)
        var text = MachinesTopology.yaml
        text = text.replacingOccurrences(of: "name: l2m\n", with: "name: \(name)\n")
        text = text.replacingOccurrences(of: "    underlay: 192.0.2.1             # this machine's address towards the other (VXLAN runs over it)\n",
                                         with: "    underlay: \(underlay.addressA)\n    underlay_namespace: \(underlay.a)\n")
        text = text.replacingOccurrences(of: "    underlay: 192.0.2.2\n", with: "    underlay: \(underlay.addressB)\n    underlay_namespace: \(underlay.b)\n")
        text = text.replacingOccurrences(of: "/run/l2motion-remote/a.sock", with: RunFolderPaths.relay(lab: name, machine: "a"))
        text = text.replacingOccurrences(of: "/run/l2motion-remote/b.sock", with: RunFolderPaths.relay(lab: name, machine: "b"))
        text = text.replacingOccurrences(of: "/srv/l2motion/ds01", with: datastore)
        text = text.replacingOccurrences(of: "memory_mib: 1024", with: "memory_mib: \(memory)")
        text = text.replacingOccurrences(of: "touched_mib: 256", with: "touched_mib: \(touched)")
        if let dirtyRate { text = text.replacingOccurrences(of: "    workload: web\n", with: "    workload: web\n    dirty-rate: \(dirtyRate)\n") }
        file = sandbox.directory + "/machines.yaml"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        do {
            for machine in machines { _ = try up(machine) }
        } catch {
            tearDown()
            throw error
        }
    }

    /// `l2motion lab up --machine M` (its output).
    func up(_ machine: String, _ extra: [String] = []) throws -> String {
        try sandbox.run(["lab", "up", "--topology", file, "--machine", machine, "--captures", sandbox.directory + "/Captures"] + extra)
    }

    /// The lab a machine's part runs as.
    func part(_ machine: String) -> String { Topology.partName(lab: name, machine: machine) }
    func namespace(_ machine: String, _ node: String) -> String { "\(part(machine))-\(node)" }

    /// `l2motion ARGS --lab NAME --machine M`.
    func run(_ arguments: [String], on machine: String) throws -> String {
        try sandbox.run(arguments + ["--lab", name, "--machine", machine])
    }

    func exec(_ machine: String, _ node: String, _ arguments: [String]) throws -> String {
        try CommandRunner.run(inNamespace: namespace(machine, node), arguments)
    }

    func tearDown() {
        for machine in ["a", "b"] { _ = try? sandbox.run(["lab", "down", "--name", name, "--machine", machine]) }
        sandbox.tearDown()
    }
}

/// Where a part's relay listens (what `machines[].control` names in the test's topology).
enum RunFolderPaths {
    static func relay(lab: String, machine: String) -> String { "/run/l2motion/\(Topology.partName(lab: lab, machine: machine))/machine.sock" }
}
