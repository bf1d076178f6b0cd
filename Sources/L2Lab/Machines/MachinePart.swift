import Foundation
import L2Control
import L2Edge

/// Turns a topology into what one machine brings up, checking the machine first: that it is one of
/// the topology's, holds its underlay address, reaches the other machines' underlay addresses, that
/// each segment's MTU fits the underlay (lowered, or refused with `strictMTU`), and that shared
/// datastores are mounted. Nothing is created before every check passed.
enum MachinePart {
    static func prepare(_ whole: Topology, machine: String?, strictMTU: Bool, progress: (String) -> Void) throws -> Topology {
        guard whole.spansMachines else {
            if let machine {
                throw LabError("--machine \(machine): topology \(whole.name) lists no machines; drop --machine, or add machines and place hosts and clients on them")
            }
            return whole
        }
        let names = whole.machines.map(\.name).joined(separator: ", ")
        guard let machine else {
            throw LabError("topology \(whole.name) spans machines (\(names)); bring up one machine's part with --machine NAME on each")
        }
        guard let here = whole.machine(named: machine) else {
            throw LabError("no machine \"\(machine)\" in topology \(whole.name); its machines are \(names)")
        }
        var part = whole.part(for: machine)
        try UnderlayProbe.checkAddress(here.underlay, namespace: here.underlayNamespace, machine: machine)
        var refusals: [String] = []
        for index in part.switches.indices {
            let segment = part.switches[index]
            let peers = whole.tunnelPeers(ofSegment: segment.name, on: machine)
            guard !peers.isEmpty else { continue }
            var narrowest: (interface: String, mtu: Int)?
            for peer in peers {
                guard let remote = whole.machine(named: peer) else { continue }
                let path = try UnderlayProbe.path(to: remote.underlay, from: here.underlay, namespace: here.underlayNamespace)
                if narrowest.map({ path.mtu < $0.mtu }) ?? true { narrowest = path }
            }
            guard let narrowest else { continue }
            let tagged = segment.members.contains { $0.name.hasPrefix("vx-") && $0.trunk != nil }
            let fit = UnderlayFit(segment: segment.name, mtu: segment.mtu, underlayMTU: narrowest.mtu, underlayInterface: narrowest.interface,
                                  tagged: tagged, strict: strictMTU)
            switch fit.verdict {
            case .fits:
                progress(fit.message)
            case let .lowered(to):
                progress("WARNING " + fit.message)
                part.switches[index].mtu = to
            case .refused:
                refusals.append(fit.message)
            }
        }
        guard refusals.isEmpty else {
            throw LabError("machine \(machine) cannot carry its segments:\n  " + refusals.joined(separator: "\n  ") + (strictMTU ? "\n(--strict-mtu: not lowered)" : ""))
        }
        for store in part.datastores {
            guard let path = store.path else { continue }
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
                throw LabError("datastore \(store.name): \(path) is not a folder on machine \(machine); mount the shared storage there first")
            }
        }
        progress("machine \(machine): \(part.hosts.count) hosts, \(part.clients.count) clients, underlay \(here.underlay)\(here.underlayNamespace.map { " in \($0)" } ?? "")")
        return part
    }

    /// Starts the machine's relay (`l2motion machine-relay`), through which the other machines'
    /// coordinators reach its daemons, and waits until it relays.
    static func startRelay(_ state: inout LabState, progress: (String) -> Void) throws {
        let log = state.folder.log("machine-relay")
        let child = try ChildProcess([LabLifecycle.executable, "machine-relay", "--lab", state.name], logPath: log)
        state.processes.append(.init(role: "relay", name: "machine", pid: child.pid))
        try state.save()
        let socket = state.folder.machineSocket
        let target = state.topology.switches.first.map { ControlRoute.switchTarget($0.name) }
        let deadline = SystemClock.monotonicNanoseconds() + 15_000_000_000
        while SystemClock.monotonicNanoseconds() < deadline {
            if let status = child.exitStatus {
                throw LabError("the machine relay exited with status \(status) while starting (log: \(log))")
            }
            if let target, (try? ControlClient.call(ControlRoute(socket: socket, relayTarget: target), SwitchCall.status, timeoutSeconds: 2)) != nil {
                progress("machine relay: \(socket) (forward it to the other machines' coordinators, e.g. ssh -L)")
                return
            }
            if target == nil, FileManager.default.fileExists(atPath: socket) { return }
            usleep(20_000)
        }
        throw LabError("the machine relay did not answer on \(socket) within 15 s (log: \(log))")
    }
}
