import Foundation
import L2Control
import L2Edge
import L2Switch
import Logging

/// The faults the matrix injects.
public enum InjectedFault: String, CaseIterable, Sendable, Codable {
    case linkDown = "vmotion-link-down"
    case destinationKilled = "destination-killed"
    case sourceKilled = "source-killed"
    case destinationStalled = "destination-stops-reading"
    case corruptStream = "corrupted-stream"
    case truncatedStream = "truncated-stream"
}

/// Where in a migration the fault lands.
public enum FaultMoment: String, CaseIterable, Sendable, Codable {
    case preflight
    case round1 = "round-1"
    case laterRound = "later-round"
    case switchover
    case resumedBeforeCommit = "resumed-before-commit"
    /// Post-copy (`--mode postcopy`), after the VM resumed on the destination with pages missing:
    /// the one moment where a failed migration does not leave the VM on its source (a cut link
    /// pauses it there until `--recover`; a lost host loses it).
    case postcopy = "during-post-copy"

    /// Whether `fault` can be injected at this moment (the stream faults act on pre-copy's points).
    public func applies(to fault: InjectedFault) -> Bool {
        self != .postcopy || ![.corruptStream, .truncatedStream].contains(fault)
    }
}

/// One run of one cell: what happened and whether the invariants held.
public struct FaultRun: Codable, Sendable {
    public var fault: InjectedFault
    public var moment: FaultMoment
    public var outcome: String
    /// Hosts running the VM at the end (never two; none only if the source died before switchover).
    public var runningOn: [String]
    public var expectedDown: Bool
    public var duplicateReplies: Int
    public var counterBefore: UInt64?
    public var counterAfter: UInt64?
    public var migratesAfterwards: Bool?
    public var passed: Bool
    public var problems: [String]
}

/// Injects each fault at each moment of a real migration in a real lab and checks the outcome: the
/// VM answers from exactly one host (never two, never none unless its source died before the
/// switchover), its memory is intact (the UDP counter never goes backwards), and the lab can migrate
/// it again afterwards.
public struct FaultMatrix {
    public var runs: Int
    public var faults: [InjectedFault]
    public var moments: [FaultMoment]
    public var labName: String
    public var captureRoot: String
    public var logger: Logger
    public var report: @Sendable (FaultRun) -> Void

    public init(runs: Int, faults: [InjectedFault], moments: [FaultMoment], labName: String, captureRoot: String,
                logger: Logger, report: @escaping @Sendable (FaultRun) -> Void = { _ in }) {
        self.runs = runs
        self.faults = faults
        self.moments = moments
        self.labName = labName
        self.captureRoot = captureRoot
        self.logger = logger
        self.report = report
    }

    /// The lab every run uses: the default one with a small VM (faster runs, same code paths).
    public func topology() -> Topology {
        var topology = DefaultTopology.topology()
        topology.name = labName
        // Post-copy cells need a VM whose post-copy lasts long enough to be hit.
        let postcopy = moments.contains(.postcopy)
        topology.vms[0].memoryMiB = postcopy ? 1024 : 256
        topology.vms[0].touchedMiB = postcopy ? 768 : 96
        return topology
    }

    public func run() throws -> [FaultRun] {
        var results: [FaultRun] = []
        var lab: LabState?
        defer { if lab != nil { _ = try? LabLifecycle.down(lab: labName) } }
        for fault in faults {
            for moment in moments where moment.applies(to: fault) {
                for _ in 0..<runs {
                    if lab == nil { lab = try LabLifecycle.up(topology(), captureRoot: captureRoot, logger: logger) }
                    let result = runOnce(fault: fault, moment: moment, lab: lab!)
                    results.append(result)
                    report(result)
                    // A killed host or a lab in doubt is rebuilt; otherwise the next run reuses it.
                    if fault == .destinationKilled || fault == .sourceKilled || !result.passed || result.migratesAfterwards != true {
                        _ = try? LabLifecycle.down(lab: labName)
                        lab = nil
                    }
                }
            }
        }
        return results
    }

    func runOnce(fault: InjectedFault, moment: FaultMoment, lab: LabState) -> FaultRun {
        let directory = LabDirectory(lab: labName)
        let coordinator = MigrationCoordinator(lab: labName)
        let vm = lab.topology.vms[0]
        let client = lab.topology.namespace(of: lab.topology.clients[0].name)
        var problems: [String] = []
        let source = (try? coordinator.locate(vm: vm.name).host) ?? vm.host
        let destination = lab.topology.hosts.map(\.name).first { $0 != source } ?? "esx02"
        let counterBefore = udpCounter(namespace: client, ip: vm.ip.address.description)
        let pingLog = "\(lab.captureDirectory)/fault-ping.txt"
        let ping = try? PingRun(namespace: client, address: vm.ip.address.description, intervalMs: 20, logPath: pingLog)
        defer { ping?.process.terminate(graceSeconds: 1) }
        let processes = lab.processes
        let marker = "--lab \(labName) "
        /// The pid of `host`'s daemon while it is a live host of this lab, else nil.
        let livePID: @Sendable (String) -> Int32? = { host in
            guard let pid = processes.first(where: { $0.role == "host" && $0.name == host })?.pid,
                  ProcessControl.isAlive(pid, commandLineContains: marker) else { return nil }
            return pid
        }
        /// Sends `signal` to `host`'s daemon if it is live (never to pid 0, which would reach our own
        /// process group); returns its pid if it did.
        let signalHost: @Sendable (String, Int32) -> Int32? = { host, signal in
            guard let pid = livePID(host) else { return nil }
            kill(pid, signal)
            return pid
        }
        var restore: [() -> Void] = []

        /// Applies the external fault (the in-stream ones are carried out by the source itself).
        let apply: @Sendable () -> Void = {
            switch fault {
            case .linkDown:
                _ = try? directory.switchCall("vmotion", SwitchCall.setPort(destination, .down))
            case .destinationKilled:
                _ = signalHost(destination, SIGKILL)
            case .sourceKilled:
                _ = signalHost(source, SIGKILL)
            case .destinationStalled:
                // A host that hangs for a while (it stops reading its sockets), then recovers.
                guard let stopped = signalHost(destination, SIGSTOP) else { return }
                Thread { usleep(6_000_000); kill(stopped, SIGCONT) }.start()
            case .corruptStream, .truncatedStream:
                break
            }
        }
        restore.append {
            _ = try? directory.switchCall("vmotion", SwitchCall.setPort(destination, .up))
            if fault == .destinationStalled { _ = signalHost(destination, SIGCONT) }
        }

        var options = MigrationOptions()
        options.downtimeMs = 5
        options.maxSeconds = 30
        options.graceMs = 500
        options.stallSeconds = 3
        switch moment {
        case .preflight:
            if fault == .corruptStream || fault == .truncatedStream {
                sendGarbage(lab: lab, from: source, to: destination, truncated: fault == .truncatedStream)
            } else {
                apply()
            }
        case .postcopy:
            options.mode = .postcopy
            // Apply the fault once the VM runs on the destination and the source still holds it
            // stunned with pages to send.
            Thread {
                let deadline = Date().addingTimeInterval(20)
                while Date() < deadline {
                    let there = (try? directory.host(destination, HostCall.vmStats(vm.name), timeoutSeconds: 1))?.statistics.state
                    let here = (try? directory.host(source, HostCall.vmStats(vm.name), timeoutSeconds: 1))?.statistics.state
                    if there == .running && here == .stunned { break }
                    usleep(5_000)
                }
                apply()
            }.start()
        case .round1, .laterRound, .switchover, .resumedBeforeCommit:
            let point: FaultPlan.Point = switch moment {
            case .round1: .round1
            case .laterRound: .round2
            case .switchover: .stunned
            default: .switchover
            }
            if fault == .corruptStream || fault == .truncatedStream {
                options.fault = FaultPlan(point: point, action: fault == .corruptStream ? .corrupt : .truncate)
            } else {
                options.fault = FaultPlan(point: point, action: .hold, holdMs: 1500)
                let waitForResume = moment == .resumedBeforeCommit
                options.onHold = { _ in
                    if waitForResume {
                        let deadline = Date().addingTimeInterval(3)
                        while Date() < deadline {
                            if let hosts = try? directory.host(destination, HostCall.listVMs(scan: false), timeoutSeconds: 1),
                               hosts.contains(where: { $0.statistics.state == .running }) { break }
                            usleep(20_000)
                        }
                    }
                    apply()
                }
            }
        }
        if moment == .laterRound {
            // A later round needs a VM that keeps dirtying: force at least two rounds.
            options.downtimeMs = 0.01
            options.maxRounds = 4
        }

        var outcome: String
        do {
            let report = try coordinator.migrate(vm: vm.name, to: destination, options: options)
            outcome = report.outcome
        } catch {
            outcome = "refused: \(error)"
        }
        for action in restore { action() }
        usleep(300_000)
        // Post-copy paused by a link or a stalled host: once it is repaired, `--recover` finishes.
        if moment == .postcopy, outcome.contains("postcopy-paused") {
            if fault == .destinationStalled { usleep(4_000_000) }
            do {
                outcome += "; --recover: " + (try coordinator.recover(vm: vm.name, options: options)).outcome
            } catch {
                outcome += "; --recover refused: \(error)"
            }
        }

        // Where does the VM run now?
        var runningOn: [String] = []
        for host in lab.topology.hosts.map(\.name) {
            guard let list = try? directory.host(host, HostCall.listVMs(scan: false), timeoutSeconds: 3) else { continue }
            if list.contains(where: { $0.name == vm.name && ($0.statistics.state == .running || $0.statistics.state == .migratingOut) }) {
                runningOn.append(host)
            }
        }
        // A dead host during post-copy loses the VM: its pages (source) or its running state
        // (destination) are gone. Expected, and said so.
        let lostInPostcopy = moment == .postcopy && (fault == .sourceKilled || fault == .destinationKilled)
        let sourceDiedEarly = fault == .sourceKilled && [.preflight, .round1, .laterRound, .switchover].contains(moment) || lostInPostcopy
        if runningOn.count > 1 { problems.append("the VM runs on \(runningOn.joined(separator: " and "))") }
        if runningOn.isEmpty && !sourceDiedEarly { problems.append("the VM runs nowhere: \(outcome)") }
        let duplicates = ping?.stop().duplicates ?? 0
        if duplicates > 0 { problems.append("\(duplicates) duplicate ping replies: two copies answered") }
        var counterAfter: UInt64?
        var migratesAfterwards: Bool?
        if !runningOn.isEmpty {
            counterAfter = udpCounter(namespace: client, ip: vm.ip.address.description)
            if let before = counterBefore, let after = counterAfter, after <= before {
                problems.append("the UDP counter went from \(before) to \(after): memory not intact")
            }
            if counterAfter == nil { problems.append("the VM does not answer UDP") }
            let hostsAlive = lab.topology.hosts.allSatisfy { livePID($0.name) != nil }
            if hostsAlive, runningOn.count == 1 {
                let target = lab.topology.hosts.map(\.name).first { $0 != runningOn[0] }!
                var again = MigrationOptions()
                again.downtimeMs = 5
                again.graceMs = 200
                let why: String
                do {
                    let report = try coordinator.migrate(vm: vm.name, to: target, options: again)
                    migratesAfterwards = report.runsOn == target
                    why = report.outcome
                } catch {
                    migratesAfterwards = false
                    why = "refused: \(error)"
                }
                if migratesAfterwards != true { problems.append("the lab could not migrate the VM afterwards (\(why))") }
            }
        }
        return FaultRun(fault: fault, moment: moment, outcome: outcome, runningOn: runningOn, expectedDown: sourceDiedEarly,
                        duplicateReplies: duplicates, counterBefore: counterBefore, counterAfter: counterAfter,
                        migratesAfterwards: migratesAfterwards, passed: problems.isEmpty, problems: problems)
    }

    /// The VM's UDP counter, read by one probe from the client namespace.
    func udpCounter(namespace: String, ip: String) -> UInt64? {
        let output = try? CommandRunner.run(["ip", "netns", "exec", namespace, LabLifecycle.executable, "udp-probe", ip,
                                             "--count", "1", "--interval", "10", "--lab", labName])
        return output.map { UDPProbeReport.parse($0) }?.after
    }

    /// A rogue peer: garbage (or a hello cut short) on the destination's migration port.
    func sendGarbage(lab: LabState, from source: String, to destination: String, truncated: Bool) {
        guard let host = lab.topology.host(named: destination) else { return }
        let payload = truncated ? "L2MV\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x40abc" : "GET / HTTP/1.0\\r\\n\\r\\n garbage garbage"
        _ = try? CommandRunner.run(inNamespace: lab.topology.namespace(of: source),
                                   ["bash", "-c", "printf '\(payload)' > /dev/tcp/\(host.vmkAddress.address)/8000; sleep 0.2"])
    }
}
