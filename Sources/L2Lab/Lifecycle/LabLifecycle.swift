import Foundation
import L2Control
import L2Edge
import L2Guest
import L2Wire
import Logging

/// Why a lab could not be brought up or acted on.
public struct LabError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Realises a topology — namespaces, switch and host processes, datastores, VMs — and removes it
/// again. Every step is recorded in the lab's state file first, so a failure or Ctrl-C half-way
/// leaves nothing behind once `down` runs.
public enum LabLifecycle {
    /// The l2motion executable to start the daemons with: this process's own binary, or
    /// `L2MOTION_EXECUTABLE` when the caller is not l2motion itself (a test runner).
    public static var executable: String {
        if let path = ProcessInfo.processInfo.environment["L2MOTION_EXECUTABLE"], !path.isEmpty { return path }
        return (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Whether anything of lab `name` exists: its run folder or a namespace with its prefix.
    public static func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: RunFolder(lab: name).path) || !NetworkNamespace.list(prefix: "\(name)-").isEmpty
    }

    /// Brings the lab up, or in a lab across machines machine `machine`'s part of it (`strictMTU`:
    /// refuse a segment whose MTU does not fit the underlay instead of lowering it); on any failure
    /// removes what was created and rethrows. Everything about the machine is checked first.
    public static func up(_ whole: Topology, machine: String? = nil, strictMTU: Bool = false, captureRoot: String, logger: Logger,
                          progress: (String) -> Void = { _ in }) throws -> LabState {
        try LabAccess.require()
        let topology = try MachinePart.prepare(whole, machine: machine, strictMTU: strictMTU, progress: progress)
        guard !exists(topology.name) else {
            throw LabError("lab \(topology.name) is already up (or left over from a crash); run `l2motion lab down --name \(topology.name)` first, or choose another --name")
        }
        let folder = RunFolder(lab: topology.name)
        try FileManager.default.createDirectory(atPath: RunFolder.root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let captures = URL(fileURLWithPath: captureRoot).appendingPathComponent("\(CaptureStamp.now())-\(topology.name)").standardizedFileURL.path
        var state = LabState(topology: topology, captureDirectory: captures, datastoreRoot: "\(folder.path)/datastores")
        if whole.spansMachines {
            state.machine = machine
            state.wholeTopology = whole
        }
        do {
            try state.save()
            try FileManager.default.createDirectory(atPath: captures, withIntermediateDirectories: true)
            try createNamespaces(&state, progress: progress)
            try createDatastores(&state)
            try startSwitches(&state, progress: progress)
            try startHosts(&state, progress: progress)
            try powerOnVMs(state, progress: progress)
            if state.machine != nil { try MachinePart.startRelay(&state, progress: progress) }
            return state
        } catch {
            logger.error("lab \(topology.name) could not come up: \(error); removing what was created")
            _ = try? down(lab: topology.name)
            throw error
        }
    }

    private static func createNamespaces(_ state: inout LabState, progress: (String) -> Void) throws {
        let nodes = state.topology.clients.map(\.name) + state.topology.hosts.map(\.name)
        for node in nodes {
            let namespace = state.topology.namespace(of: node)
            try NetworkNamespace.create(namespace)
            state.namespaces.append(namespace)
            try state.save()
        }
        progress("namespaces: \(state.namespaces.joined(separator: ", "))")
    }

    private static func createDatastores(_ state: inout LabState) throws {
        for store in state.topology.datastores where store.path == nil {
            try FileManager.default.createDirectory(atPath: "\(state.datastoreRoot)/\(store.name)", withIntermediateDirectories: true)
        }
        for vm in state.topology.vms {
            let store = Datastore(name: vm.datastore, path: state.datastorePath(of: vm.datastore))
            if state.topology.datastores.first(where: { $0.name == vm.datastore })?.path != nil {
                state.sharedFolders = (state.sharedFolders ?? []) + [store.folder(of: vm.name)]
                try state.save()
            }
            try store.create(vmConfiguration(vm))
        }
    }

    /// The configuration written to a VM's datastore folder.
    public static func vmConfiguration(_ vm: VMNode) -> VMConfiguration {
        VMConfiguration(name: vm.name, mac: vm.mac, ip: vm.ip, memoryMiB: vm.memoryMiB, portGroup: vm.portGroup,
                        workload: WorkloadSpec.preset(named: vm.workload) ?? .idle, gratuitousARPAtPowerOn: true,
                        touchedMiB: vm.touchedMiB, disk: "\(vm.name).img", seed: nil, ipv6: vm.ipv6)
    }

    private static func startSwitches(_ state: inout LabState, progress: (String) -> Void) throws {
        for node in state.topology.switches {
            var arguments = [executable, "switch", node.name, "--lab", state.name, "--capture-dir", state.captureDirectory,
                             "--snaplen", String(node.snaplen), "--capture-format", node.captureFormat.rawValue]
                + (node.offloads ? [] : ["--no-offloads"]) + (node.egressRecords ? ["--egress-records"] : [])
                + DaemonArguments.switchOptions(node)
            for port in DaemonArguments.ports(of: node.name, in: state.topology) { arguments += ["--port", port] }
            let child = try ChildProcess(arguments, logPath: state.folder.log("switch-\(node.name)"))
            state.processes.append(.init(role: "switch", name: node.name, pid: child.pid))
            try state.save()
            try waitForSocket(state.folder.switchSocket(node.name), answering: SwitchCall.status, child: child, what: "switch \(node.name)", log: state.folder.log("switch-\(node.name)"))
            progress("switch \(node.name): \(state.topology.ports(of: node.name).count) ports, capture \(state.capturePath(of: node.name))")
        }
    }

    private static func startHosts(_ state: inout LabState, progress: (String) -> Void) throws {
        for host in state.topology.hosts {
            var arguments = ["ip", "netns", "exec", state.topology.namespace(of: host.name), executable, "host", host.name,
                             "--lab", state.name, "--vmk-address", host.vmkAddress.address.description,
                             "--memory-limit", String(host.memoryMiB)]
            if let second = host.vmk2Address { arguments += ["--vmkernel2", host.vmkernel2Interface, "--vmk2-address", second.address.description] }
            for group in DaemonArguments.portGroups(of: host) { arguments += ["--port-group", group] }
            for store in host.datastores { arguments += ["--datastore", "\(store)=\(state.datastorePath(of: store))"] }
            let child = try ChildProcess(arguments, logPath: state.folder.log("host-\(host.name)"))
            state.processes.append(.init(role: "host", name: host.name, pid: child.pid))
            try state.save()
            try waitForSocket(state.folder.hostSocket(host.name), answering: HostCall.hostInfo, child: child, what: "host \(host.name)", log: state.folder.log("host-\(host.name)"))
            progress("host \(host.name): vMotion \(host.vmkAddress)\(host.vmk2Address.map { " and \($0) (vmk2)" } ?? ""), port groups \(host.portGroups.map(\.description).joined(separator: ", "))")
        }
    }

    /// Powers each VM on where the topology puts it, its `dirty-rate` (if any) passed with the power-on:
    /// the datastore's configuration names the preset, as `vm power-on --dirty-rate` would leave it.
    private static func powerOnVMs(_ state: LabState, progress: (String) -> Void) throws {
        for vm in state.topology.vms {
            let summary: VMSummary
            do {
                let rate = try vm.dirtyRate.map { try DirtyRate(mebibytesPerSecond: $0) }
                summary = try ControlClient.call(state.folder.hostSocket(vm.host), HostCall.powerOn(vm.name, datastore: vm.datastore, dirtyRate: rate))
            } catch {
                throw LabError("could not power on \(vm.name) on \(vm.host): \(error)")
            }
            progress("vm \(vm.name): \(vm.mac) \(vm.ip) on \(vm.host), \(vm.memoryMiB) MiB (\(vm.touchedMiB) MiB touched), workload \(summary.workload.rateSummary)")
        }
    }

    /// Waits until a daemon answers on its control socket; if it exits first, its log says why.
    static func waitForSocket<Request, Reply>(_ path: String, answering call: ControlCall<Request, Reply>, child: ChildProcess,
                                              what: String, log: String, seconds: Double = 15) throws {
        let deadline = SystemClock.monotonicNanoseconds() + UInt64(seconds * 1e9)
        while SystemClock.monotonicNanoseconds() < deadline {
            if let status = child.exitStatus {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                let last = text.split(separator: "\n").suffix(3).joined(separator: "\n")
                throw LabError("\(what) exited with status \(status) while starting: \(last)")
            }
            if (try? ControlClient.call(path, call, timeoutSeconds: 2)) != nil { return }
            usleep(20_000)
        }
        throw LabError("\(what) did not answer on \(path) within \(Int(seconds)) s (log: \(log))")
    }

    /// Removes everything of lab `name`: its daemons (by PID, checked against their command line),
    /// its namespaces (by prefix) and its run folder. Returns what it removed; works after a crash.
    /// Only root can: anyone else gets `permission-denied` and nothing is touched.
    @discardableResult
    public static func down(lab name: String) throws(ControlError) -> [String] {
        try LabAccess.require()
        var removed: [String] = []
        let marker = "--lab \(name) "
        var pids: [(String, Int32)] = []
        let state = LabState.load(lab: name)
        if let state {
            // The relay and hosts before switches, so hosts never see their uplink vanish.
            pids = state.processes.sorted { ($0.role == "switch" ? 1 : 0) < ($1.role == "switch" ? 1 : 0) }.map { ("\($0.role) \($0.name)", $0.pid) }
        }
        pids += strays(marker: marker).map { ("stray process", $0) }
        for (what, pid) in pids where ProcessControl.isAlive(pid, commandLineContains: marker) {
            ProcessControl.stop(pid, commandLineContains: marker)
            removed.append("\(what) (pid \(pid))")
        }
        for namespace in NetworkNamespace.list(prefix: "\(name)-") {
            if (try? NetworkNamespace.delete(namespace)) != nil { removed.append("namespace \(namespace)") }
        }
        for shared in state?.sharedFolders ?? [] where FileManager.default.fileExists(atPath: shared) {
            if (try? FileManager.default.removeItem(atPath: shared)) != nil { removed.append("VM folder \(shared)") }
        }
        let folder = RunFolder(lab: name).path
        if FileManager.default.fileExists(atPath: folder) {
            try? FileManager.default.removeItem(atPath: folder)
            removed.append("run folder \(folder)")
        }
        // The last lab leaves no empty /run/l2motion behind (a lab made it).
        if (try? FileManager.default.contentsOfDirectory(atPath: RunFolder.root))?.isEmpty == true {
            try? FileManager.default.removeItem(atPath: RunFolder.root)
        }
        return removed
    }

    /// l2motion processes whose command line names this lab (left by a crashed CLI).
    static func strays(marker: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard pid != getpid(), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let text = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return text.contains("l2motion") && text.contains(marker)
                && (text.contains(" switch ") || text.contains(" host ") || text.contains(" udp-probe ") || text.contains(" tcp-probe ") || text.contains(" machine-relay "))
        }
    }
}

/// Names capture runs by their start time (UTC), so runs sort by date.
public enum CaptureStamp {
    public static func now() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }
}
