import Foundation
import L2Control
import L2Edge
import L2Switch
import L2Wire

/// One part's lab while the part runs: its topology and state, the VM and client it is about, and
/// the actions and observations the scenarios are made of (ping, migrate, switch events, commands
/// in the lab's namespaces). Figures and notes a part records go into its report.
public final class ScenarioLab: @unchecked Sendable {
    public let topology: Topology
    public let state: LabState
    public let say: @Sendable (String) -> Void
    /// The VM the scenario moves (the topology's first).
    public let vm: VMNode
    /// The client on the VM's production switch.
    public let client: ClientNode
    /// The host the VM moves to: the first other host with the VM's port group label.
    public let destination: String
    public private(set) var figures: [ScenarioFigure] = []
    public private(set) var notes: [String] = []
    private let coordinator: MigrationCoordinator
    private var background: [ChildProcess] = []

    init(topology: Topology, state: LabState, say: @escaping @Sendable (String) -> Void) throws {
        self.topology = topology
        self.state = state
        self.say = say
        guard let vm = topology.vms.first, let host = topology.host(named: vm.host) else {
            throw LabError("a scenario needs a VM on a host")
        }
        self.vm = vm
        guard let client = topology.clients.first(where: { $0.switch == host.uplink }) else {
            throw LabError("a scenario needs a client on \(vm.name)'s production switch \(host.uplink)")
        }
        self.client = client
        guard let destination = topology.hosts.first(where: { $0.name != vm.host && $0.portGroupLabels.contains(vm.portGroup) }) else {
            throw LabError("a scenario needs a second host with port group \"\(vm.portGroup)\"")
        }
        self.destination = destination.name
        coordinator = MigrationCoordinator(lab: topology.name)
    }

    /// The production switch (the VM's host's uplink).
    public var productionSwitch: String { topology.host(named: vm.host)!.uplink }

    public func record(_ figure: ScenarioFigure) { figures.append(figure) }
    public func note(_ text: String) { notes.append(text) }

    // MARK: commands in the lab

    /// Runs a command in a node's namespace and returns its output.
    @discardableResult
    public func run(in node: String, _ arguments: [String]) throws -> String {
        try CommandRunner.run(inNamespace: topology.namespace(of: node), arguments)
    }

    /// Starts a command in a node's namespace in the background; it is ended when the part ends.
    @discardableResult
    public func start(in node: String, _ arguments: [String], log: String) throws -> ChildProcess {
        try launch(["ip", "netns", "exec", topology.namespace(of: node)] + arguments, log: log)
    }

    /// Starts `l2motion ARGS --lab LAB` (from the root namespace) in the background; it is ended when
    /// the part ends.
    @discardableResult
    public func startL2motion(_ arguments: [String], log: String) throws -> ChildProcess {
        try launch([LabLifecycle.executable] + arguments + ["--lab", topology.name], log: log)
    }

    /// A background process, its output in the part's capture folder, ended with the part.
    private func launch(_ arguments: [String], log: String) throws -> ChildProcess {
        let child = try ChildProcess(arguments, logPath: "\(state.captureDirectory)/\(log)")
        background.append(child)
        return child
    }

    /// Runs `l2motion ARGS` against this lab (from the root namespace).
    @discardableResult
    public func l2motion(_ arguments: [String]) throws -> String {
        try CommandRunner.run([LabLifecycle.executable] + arguments + ["--lab", topology.name])
    }

    /// Makes the client re-check its ARP entries within about a second instead of Linux's 15–45 s
    /// (base_reachable_time 1 s, delay_first_probe 1 s, one unicast probe after 100 ms), so an outage
    /// that ends at the client's re-resolution ends within seconds. The report says so.
    public func quickenClientARP() throws {
        let device = "net.ipv4.neigh.eth0"
        for setting in ["\(device).base_reachable_time_ms=1000", "\(device).delay_first_probe_time=1",
                        "\(device).retrans_time_ms=100", "\(device).ucast_solicit=1"] {
            try run(in: client.name, ["sysctl", "-q", "-w", setting])
        }
        note("\(client.name)'s ARP timers shortened (base_reachable_time 1 s, delay_first_probe_time 1 s, 1 unicast probe): "
             + "with Linux's defaults the re-resolution, and so the outage, takes 15–50 s")
    }

    // MARK: observations

    /// The production switch's event cursor now (events after it are this run's).
    public func eventCursor(_ switchName: String? = nil) throws -> UInt64 {
        try LabDirectory(lab: topology.name).switchCall(switchName ?? productionSwitch, SwitchCall.events(since: UInt64.max)).next
    }

    /// Switch events since `cursor` for `mac` (all MACs when nil).
    public func events(since cursor: UInt64, mac: MACAddress? = nil, switchName: String? = nil) throws -> [SwitchEventSnapshot] {
        let page = try LabDirectory(lab: topology.name).switchCall(switchName ?? productionSwitch, SwitchCall.events(since: cursor))
        return page.events.filter { mac == nil || $0.mac == mac }
    }

    /// A switch's port counters.
    public func counters(_ switchName: String? = nil) throws -> [PortCountersSnapshot] {
        try LabDirectory(lab: topology.name).switchCall(switchName ?? productionSwitch, SwitchCall.counters)
    }

    /// The switch's capture file, flushed so far.
    public func capture(_ switchName: String? = nil) throws -> String {
        let directory = LabDirectory(lab: topology.name)
        let name = switchName ?? productionSwitch
        _ = try directory.switchCall(name, SwitchCall.captureFlush)
        return try directory.switchCall(name, SwitchCall.status).capture
    }

    /// Frame numbers in a switch's capture that match a libpcap filter.
    public func frames(matching filter: String, switchName: String? = nil) throws -> [UInt64] {
        try PcapReader.readAll(path: capture(switchName), filter: filter).map(\.number)
    }

    /// Frames host `host`'s virtual switch dropped because a port group rejects forged transmits.
    public func forgedTransmitDrops(host: String) throws -> Int {
        try LabDirectory(lab: topology.name).host(host, HostCall.hostInfo).forgedTransmitDrops ?? 0
    }

    /// Which host runs the VM now.
    public func runsOn() -> String? { try? coordinator.locate(vm: vm.name).host }

    // MARK: the migration under ping

    /// Pings the VM from the client, lets it settle, runs `during` (e.g. starts a spoofer), migrates
    /// the VM to the destination, then waits until a reply arrives after the migration (at most
    /// `recoverWithinSeconds`) and `afterSeconds` more, and stops ping.
    public func migrateUnderPing(options: MigrationOptions, to host: String? = nil, pingIntervalMs: Double = 10,
                                 during: ((ScenarioLab) throws -> Void)? = nil,
                                 recoverWithinSeconds: Double = 10, afterSeconds: Double = 0.3) throws -> ObservedMigration {
        let ping = try PingRun(namespace: topology.namespace(of: client.name), address: vm.ip.address.description,
                               intervalMs: pingIntervalMs, logPath: "\(state.captureDirectory)/ping.txt")
        background.append(ping.process)
        usleep(1_000_000)
        let cursor = try eventCursor()
        let startedAt = SystemClock.wallNanoseconds()
        try during?(self)
        var options = options
        options.productionSwitch = productionSwitch
        var report: MigrationReport?
        var refusal: String?
        do {
            report = try coordinator.migrate(vm: vm.name, to: host ?? destination, options: options, progress: { _ in })
        } catch {
            refusal = "\(error)"
        }
        let finishedAt = SystemClock.wallNanoseconds()
        let deadline = finishedAt + UInt64(recoverWithinSeconds * 1e9)
        var recovered = false
        while SystemClock.wallNanoseconds() < deadline {
            let text = (try? String(contentsOfFile: ping.logPath, encoding: .utf8)) ?? ""
            let replies = PingParser.parse(text, nominalIntervalMs: pingIntervalMs).replies
            if let last = replies.last, last.atNs > finishedAt {
                recovered = true
                break
            }
            usleep(20_000)
        }
        // Every scheduled announce has gone out (and is in the capture) before ping stops.
        let announcesDone = finishedAt + UInt64((options.announceMs.max() ?? 0) + 200) * 1_000_000
        let now = SystemClock.wallNanoseconds()
        if report?.runsOn == (host ?? destination), announcesDone > now { usleep(UInt32((announcesDone - now) / 1000)) }
        usleep(UInt32(afterSeconds * 1e6))
        let pingReport = ping.stop()
        let events = try self.events(since: cursor)
        let announces = try PcapReader.readAll(path: capture(), filter: RelearnMatcher.announceFilter(mac: vm.mac))
            .filter { $0.wallNanoseconds >= startedAt }.map(\.number)
        return ObservedMigration(report: report, refusal: refusal, ping: pingReport, events: events, announces: announces,
                                 startedAt: startedAt, finishedAt: finishedAt, recovered: recovered)
    }

    /// Ends the background commands the part started.
    func endBackground() {
        for child in background { child.terminate(graceSeconds: 1) }
        background.removeAll()
    }
}

/// What `migrateUnderPing` saw: the migration's report (or why it was refused), ping's report, the
/// production switch's events during the run, and the times around the migration. Every time here is
/// wall-clock ns, as ping, the switch's events and the hosts' records give them.
public struct ObservedMigration: Sendable {
    public var report: MigrationReport?
    public var refusal: String?
    public var ping: PingReport
    public var events: [SwitchEventSnapshot]
    /// The VM's RARPs in the production switch's capture since the run began, read after the wait
    /// (the migration's report is written at the resume, before the later ones went out).
    public var announces: [UInt64]
    public var startedAt: UInt64
    public var finishedAt: UInt64
    /// Whether a reply arrived after the migration finished (before the wait ran out).
    public var recovered: Bool

    init(report: MigrationReport?, refusal: String?, ping: PingReport, events: [SwitchEventSnapshot], announces: [UInt64],
         startedAt: UInt64, finishedAt: UInt64, recovered: Bool) {
        self.report = report
        self.refusal = refusal
        self.ping = ping
        self.events = events
        self.announces = announces
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.recovered = recovered
    }

    /// Whether the migration completed (the VM runs on the destination).
    public var completed: Bool { report?.result.status == .completed }

    /// The longest silence between ping replies: from the last reply before it to the first after,
    /// nil with fewer than two replies.
    public var outage: (from: UInt64, to: UInt64)? {
        guard let start = ping.maxGapStartNs, ping.maxGapMs > 0 else { return nil }
        return (start, start + UInt64(ping.maxGapMs * 1e6))
    }

    /// The last ping reply's time.
    public var lastReply: UInt64? { ping.replies.last?.atNs }

    /// Station moves of `mac` onto the port named `port`.
    public func moves(of mac: MACAddress, onto port: String) -> [SwitchEventSnapshot] {
        events.filter { $0.kind == .moved && $0.mac == mac && $0.newPortName == port }
    }
}
