import Foundation
import L2Control
import L2Edge

/// Finds a running lab's daemons and calls them with typed requests: by their control sockets in
/// its run folder, and in a lab across machines the other machines' hosts and switches through
/// those machines' relay sockets (`machines[].control` in the topology, or `remotes` from the
/// command line, which win).
public struct LabDirectory: Sendable {
    public let folder: RunFolder
    /// This part's machine and the whole topology, in a lab across machines.
    public let machine: String?
    public let whole: Topology?
    /// Each other machine's relay socket, where one is known.
    public let remoteSockets: [String: String]

    public init(lab: String, remotes: [String: String] = [:]) {
        folder = RunFolder(lab: lab)
        let state = LabState.load(lab: lab)
        machine = state?.machine
        whole = state?.wholeTopology
        var sockets: [String: String] = [:]
        for other in whole?.machines ?? [] where other.name != machine {
            if let socket = remotes[other.name] ?? other.control { sockets[other.name] = socket }
        }
        remoteSockets = sockets
    }

    private func names(prefix: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return entries.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".sock") }
            .map { String($0.dropFirst(prefix.count).dropLast(5)) }.sorted()
    }

    /// This machine's hosts, then those of the other machines that have a relay socket.
    public var hosts: [String] {
        let local = names(prefix: "host-")
        let remote = (whole?.hosts ?? []).filter { $0.machine != machine && $0.machine.map { remoteSockets[$0] != nil } == true }.map(\.name)
        return local + remote.filter { !local.contains($0) }
    }

    public var switches: [String] { names(prefix: "switch-") }

    /// The machine a host runs on (nil on one machine).
    public func machine(ofHost host: String) -> String? { whole?.machine(ofHost: host) ?? machine }

    /// Where a host daemon answers: its own socket here, or its machine's relay.
    public func hostRoute(_ name: String) -> ControlRoute {
        if let other = whole?.machine(ofHost: name), other != machine, let socket = remoteSockets[other] {
            return ControlRoute(socket: socket, relayTarget: ControlRoute.hostTarget(name))
        }
        return .direct(folder.hostSocket(name))
    }

    /// Where switch `name` of machine `onMachine` answers (nil or this machine: the local one).
    public func switchRoute(_ name: String, onMachine: String? = nil) -> ControlRoute {
        if let onMachine, onMachine != machine, let socket = remoteSockets[onMachine] {
            return ControlRoute(socket: socket, relayTarget: ControlRoute.switchTarget(name))
        }
        return .direct(folder.switchSocket(name))
    }

    /// The lab name a machine's part runs under (this lab's own name for this machine or one machine).
    public func partLab(of other: String?) -> String {
        guard let other, other != machine, let whole else { return folder.lab }
        return Topology.partName(lab: whole.name, machine: other)
    }

    public func host<Reply>(_ name: String, _ call: ControlCall<HostRequest, Reply>, timeoutSeconds: Int = 30) throws(ControlError) -> Reply {
        try ControlClient.call(hostRoute(name), call, timeoutSeconds: timeoutSeconds)
    }

    public func switchCall<Reply>(_ name: String, onMachine: String? = nil, _ call: ControlCall<SwitchRequest, Reply>) throws(ControlError) -> Reply {
        try ControlClient.call(switchRoute(name, onMachine: onMachine), call)
    }

    /// Refuses unless every other machine's relay answers, naming what to fix; nothing is changed
    /// on any machine before. Checked by sending `status` to one of its switches.
    public func checkMachines() throws(ControlError) {
        guard let whole else { return }
        var problems: [String] = []
        for other in whole.machines where other.name != machine {
            let part = whole.part(for: other.name)
            guard let socket = remoteSockets[other.name] else {
                problems.append("machine \(other.name): no control socket; give --remote \(other.name)=PATH (an ssh -L forward of \(RunFolder(lab: part.name).machineSocket) on that machine) or machines[].control in the topology")
                continue
            }
            guard let probe = part.switches.first else { continue }
            do {
                _ = try ControlClient.call(ControlRoute(socket: socket, relayTarget: ControlRoute.switchTarget(probe.name)), SwitchCall.status, timeoutSeconds: 5)
            } catch {
                problems.append("machine \(other.name): its control socket \(socket) does not answer (\(error.message)); is `l2motion lab up --machine \(other.name)` running there, and the forward (ssh -L \(socket):\(RunFolder(lab: part.name).machineSocket)) open?")
            }
        }
        guard problems.isEmpty else { throw ControlError(.unreachable, problems.joined(separator: "; ")) }
    }
}

/// Who may talk to a lab: its run folder and control sockets belong to root (mode 0700 and 0600), so
/// every verb that talks to a lab refuses other users up front with one clear message instead of
/// failing later in ways that look like an empty lab.
public enum LabAccess {
    public static func require() throws(ControlError) {
        guard geteuid() == 0 else { throw ControlError.permissionDenied }
    }
}
