import L2Capture
import Foundation
import L2Control
import L2Edge
import L2Guest
import L2Wire
import Logging

/// What the user may change about the demo.
public struct DemoOptions: Sendable {
    public var labName = "l2m"
    public var captureRoot = "Captures"
    public var memoryMiB: Int?
    public var touchedMiB: Int?
    public var workload: String?
    /// Replaces the workload's rate (its working set and pattern stay).
    public var dirtyRate: DirtyRate?
    public var pingIntervalMs: Double = 10
    public var udpIntervalMs: Double = 20
    /// Milliseconds between the TCP probe's echo requests (0: no TCP probe).
    public var tcpIntervalMs: Double = 20
    /// The TCP probe's download pace in MiB/s (it downloads until the probes stop).
    public var tcpDownloadMiBPerSecond: Double = 2
    public var back = false
    public var keep = false
    public var settleMs: Double = 1000
    public var migration = MigrationOptions()
    public var topology: Topology?
    /// Overrides every switch's capture format (nil: the topology's).
    public var captureFormat: CaptureFormat?
    /// Turns egress records on for every switch.
    public var egressRecords = false
    public init() {}
}

/// The main job: lab up → the kernel's ping and the UDP counter probe from client01 → migrate
/// web01 to esx02 (and back) → stop the probes → report → lab down.
public struct DemoRunner {
    public let options: DemoOptions
    public let logger: Logger
    /// Called with each step in words, and with migration progress.
    public let say: @Sendable (String) -> Void
    public let progress: @Sendable (MigrationProgress) -> Void

    public init(options: DemoOptions, logger: Logger, say: @escaping @Sendable (String) -> Void,
                progress: @escaping @Sendable (MigrationProgress) -> Void) {
        self.options = options
        self.logger = logger
        self.say = say
        self.progress = progress
    }

    /// The topology the demo runs: the default (or given) one with the user's VM overrides.
    public func topology() throws -> Topology {
        var topology = options.topology ?? DefaultTopology.topology()
        topology.name = options.labName
        guard !topology.vms.isEmpty, !topology.clients.isEmpty, topology.hosts.count >= 2 else {
            throw LabError("the demo needs a topology with a client, two hosts and a VM")
        }
        if let memory = options.memoryMiB {
            topology.vms[0].memoryMiB = memory
            topology.vms[0].touchedMiB = min(options.touchedMiB ?? min(topology.vms[0].touchedMiB, memory / 4), memory)
        }
        if let touched = options.touchedMiB { topology.vms[0].touchedMiB = touched }
        if let workload = options.workload { topology.vms[0].workload = workload }
        if let dirtyRate = options.dirtyRate { topology.vms[0].dirtyRate = dirtyRate.mebibytesPerSecond }
        topology.overrideCaptures(format: options.captureFormat, egressRecords: options.egressRecords ? true : nil)
        let problems = TopologyValidator.problems(in: topology)
        guard problems.isEmpty else { throw TopologyError(source: "for the demo", problems: problems) }
        return topology
    }

    /// Runs the demo, then (the lab down, so the captures are closed and carry their statistics)
    /// writes `migration.pcapng` and the report files.
    public func run() throws -> DemoReport {
        var report = try runLab()
        annotate(&report)
        try ControlJSON.prettyEncoder.encode(report).write(to: URL(fileURLWithPath: report.captures.reportJSON))
        try TimelineSVG.render(report).write(toFile: report.captures.timeline, atomically: true, encoding: .utf8)
        try DemoMarkdown.render(report).write(toFile: report.captures.reportMarkdown, atomically: true, encoding: .utf8)
        return report
    }

    /// Writes both switches' captures as one file with the migration's events (pcapng captures only).
    /// With `--keep` the switches still write: it merges what they flushed and says how to redo it.
    func annotate(_ report: inout DemoReport) {
        let captures = [report.captures.pswitch, report.captures.vmotion]
        guard captures.allSatisfy({ $0.hasSuffix(".\(CaptureFormat.pcapng.fileExtension)") }) else {
            say("no \(RunAnnotator.fileName): the captures are pcap (`l2motion annotate` needs pcapng)")
            return
        }
        do {
            let annotation = try RunAnnotator.annotate(report, runDirectory: report.captures.directory)
            report.captures.migration = annotation.path
            say("wrote \(annotation.path): \(annotation.frames) frames, \(annotation.placements.filter { $0.frame != nil }.count) migration events as comments")
            for note in annotation.notes { say("  " + note) }
        } catch {
            say("could not write \(RunAnnotator.fileName): \(error)")
        }
    }

    /// Lab up → probes → migration(s) → report; the lab goes down (unless `keep`) as this returns.
    func runLab() throws -> DemoReport {
        let topology = try topology()
        let vm = topology.vms[0]
        let client = topology.clients.first { client in topology.host(named: vm.host)?.uplink == client.switch } ?? topology.clients[0]
        let destination = topology.hosts.first { $0.name != vm.host && $0.portGroupLabels.contains(vm.portGroup) }?.name ?? topology.hosts[1].name
        say("bringing lab \(topology.name) up")
        let state = try LabLifecycle.up(topology, captureRoot: options.captureRoot, logger: logger) { say("  " + $0) }
        var probes: [ChildProcess] = []
        defer {
            for probe in probes { probe.terminate(graceSeconds: 1) }
            if !options.keep {
                _ = try? LabLifecycle.down(lab: topology.name)
                say("lab \(topology.name) is down")
            } else {
                say("lab \(topology.name) left up (--keep); take it down with `l2motion lab down --name \(topology.name)`")
            }
        }
        let startedAt = SystemClock.wallNanoseconds()
        let namespace = topology.namespace(of: client.name)
        let pingLog = "\(state.captureDirectory)/ping.txt"
        let udpLog = "\(state.captureDirectory)/udp-probe.txt"
        say("ping from \(client.name) to \(vm.name) \(vm.ip.address) every \(options.pingIntervalMs) ms (the kernel's ping), UDP counter probe every \(options.udpIntervalMs) ms")
        let ping = try PingRun(namespace: namespace, address: vm.ip.address.description, intervalMs: options.pingIntervalMs, logPath: pingLog)
        probes.append(ping.process)
        // Both families: `ping -6` to the VM's first IPv6 address besides its link-local one.
        var ping6: PingRun?
        if let address = vm.ipv6Addresses.first?.address, client.ipv6Addresses.contains(where: { $0.contains(address) }) {
            say("ping -6 from \(client.name) to \(vm.name) \(address) every \(options.pingIntervalMs) ms")
            let run = try PingRun(namespace: namespace, address: address.description, intervalMs: options.pingIntervalMs,
                                  logPath: "\(state.captureDirectory)/ping6.txt")
            probes.append(run.process)
            ping6 = run
        }
        let udp = try ChildProcess(["ip", "netns", "exec", namespace, LabLifecycle.executable, "udp-probe", vm.ip.address.description,
                                    "--interval", String(options.udpIntervalMs), "--lab", topology.name], logPath: udpLog)
        probes.append(udp)
        var tcp: TCPProbeRun?
        if options.tcpIntervalMs > 0 {
            say("TCP probe from \(client.name): an echo connection every \(options.tcpIntervalMs) ms and a download checked byte for byte at \(options.tcpDownloadMiBPerSecond) MiB/s")
            let run = try TCPProbeRun(namespace: namespace, address: vm.ip.address.description, intervalMs: options.tcpIntervalMs,
                                      downloadBytes: 1 << 40, downloadMiBPerSecond: options.tcpDownloadMiBPerSecond, lab: topology.name,
                                      logPath: "\(state.captureDirectory)/tcp-probe.txt")
            probes.append(run.process)
            tcp = run
        }
        usleep(UInt32(options.settleMs * 1000))

        let coordinator = MigrationCoordinator(lab: topology.name)
        var migrationOptions = options.migration
        migrationOptions.productionSwitch = client.switch
        say("migrating \(vm.name) \(vm.host) → \(destination)")
        var first = try coordinator.migrate(vm: vm.name, to: destination, options: migrationOptions, progress: progress)
        var back: MigrationReport?
        if options.back {
            usleep(UInt32(options.settleMs * 1000))
            say("migrating \(vm.name) back \(destination) → \(vm.host)")
            back = try coordinator.migrate(vm: vm.name, to: vm.host, options: migrationOptions, progress: progress)
        }
        usleep(UInt32(options.settleMs * 1000))
        udp.signal(SIGTERM)
        let pingReport = ping.stop()
        var ping6Report = ping6?.stop()
        ping6Report?.replies = []
        _ = udp.wait(seconds: 3)
        var tcpReport = tcp?.stop()
        for switchNode in topology.switches {
            _ = try? ControlClient.call(state.folder.switchSocket(switchNode.name), SwitchCall.captureFlush)
        }
        let udpReport = UDPProbeReport.parse((try? String(contentsOfFile: udpLog, encoding: .utf8)) ?? "")
        if let run = tcp, tcpReport != nil {
            tcpReport?.capture = try? TCPCaptureCheck.findings(file: state.capturePath(of: client.switch), addresses: [vm.ip.address.description],
                                                              sinceNs: run.startedAtNs, untilNs: run.stoppedAtNs)
        }
        // Someone sending the VM's MAC after a migration returned moves it too: look again, each
        // migration up to the next one's start.
        coordinator.remeasureRelearn(&first, until: back)
        if var later = back {
            coordinator.remeasureRelearn(&later)
            back = later
        }
        var expectations = [(first, destination)]
        if let back { expectations.append((back, vm.host)) }
        let problems = DemoReport.problems(ping: pingReport, udp: udpReport, migrations: expectations) + (tcpReport?.problems ?? [])
            + (ping6Report.map { $0.lost > 0 ? ["\($0.lost) ping -6 request\($0.lost == 1 ? "" : "s") lost"] : $0.received == 0 ? ["no ping -6 reply at all"] : [] } ?? [])
        let directory = state.captureDirectory
        let production = topology.switches.first { $0.name == client.switch }?.name ?? "pswitch"
        let vmotion = topology.hosts.first?.vmotion ?? "vmotion"
        let report = DemoReport(
            lab: topology.name, vm: vm.name, memoryMiB: vm.memoryMiB, touchedMiB: vm.touchedMiB, workload: vm.workload,
            dirtyRateMiBPerSecond: vm.workloadSpec.mebibytesPerSecond,
            startedAtNs: startedAt, migration: first, back: back, ping: pingReport, udpCounter: udpReport, tcp: tcpReport, ping6: ping6Report,
            vmAddresses: [vm.ip.description] + vm.ipv6Addresses.map(\.description) + [IPv6Address.linkLocal(eui64: vm.mac).description],
            vmServices: VMServices.names(forWorkload: vm.workload),
            captures: .init(directory: directory, pswitch: state.capturePath(of: production), vmotion: state.capturePath(of: vmotion),
                            reportJSON: "\(directory)/report.json", reportMarkdown: "\(directory)/report.md",
                            timeline: "\(directory)/timeline.svg"),
            passed: problems.isEmpty, problems: problems)
        return report
    }
}
