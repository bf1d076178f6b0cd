import ArgumentParser
import Foundation
import L2Control
import L2Daemons
import L2Edge
import L2Lab
import L2Switch

/// `l2motion lab ...`: bring a lab up in the background, show it, take it down.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab", abstract: "Bring a lab up, show it, take it down.",
        subcommands: [Up.self, Down.self, Status.self, Topology.self])

    /// Which topology: the embedded default or a YAML file; the name can be overridden.
    struct TopologyOptions: ParsableArguments {
        @Option(help: "The lab's name (prefixes its namespaces; default: the topology's, l2m).") var name: String?
        @Option(help: "A YAML topology file (default: the embedded default lab).") var topology: String?
        @Option(help: "An embedded example topology instead: \(TopologyExamples.names.joined(separator: ", ")).") var example: String?

        func validate() throws {
            if topology != nil && example != nil { throw ValidationError("give --topology FILE or --example NAME, not both") }
            if let example { _ = try TopologyExamples.yaml(named: example) }
        }

        func load() throws -> L2Lab.Topology {
            var topology = try topology.map { try TopologyLoader.load(path: $0) }
                ?? example.map { try TopologyExamples.topology(named: $0) } ?? DefaultTopology.topology()
            if let name {
                topology.name = name
                let problems = TopologyValidator.problems(in: topology)
                guard problems.isEmpty else {
                    throw TopologyError(source: "with --name \(name)", problems: problems)
                }
            }
            return topology
        }
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "up", abstract: "Create the lab and leave it running in the background.")
        @OptionGroup var topologyOptions: TopologyOptions
        @Option(help: "Where capture runs go.") var captures = "Captures"
        @OptionGroup var captureOptions: CaptureOptions
        @Option(help: "A lab across machines: bring up this machine's part (its hosts, clients and share of each segment).") var machine: String?
        @Flag(help: "A lab across machines: refuse a segment whose MTU does not fit the underlay with VXLAN's 50 bytes, instead of lowering it on this machine.")
        var strictMtu = false

        func run() throws {
            var topology = try topologyOptions.load()
            captureOptions.apply(to: &topology)
            let logger = LoggingSetup.bootstrap(label: "l2motion.lab")
            let labName = machine.map { L2Lab.Topology.partName(lab: topology.name, machine: $0) } ?? topology.name
            CleanupOnSignal.install(lab: labName)
            let state = try LabLifecycle.up(topology, machine: machine, strictMTU: strictMtu, captureRoot: captures, logger: logger) { print("  \($0)") }
            CleanupOnSignal.disarm()
            if let machine {
                print("lab \(topology.name), machine \(machine) is up (as lab \(state.name)); captures in \(state.captureDirectory)")
                print("other machines' coordinators reach it through \(state.folder.machineSocket) (e.g. ssh -L /run/l2motion-remote/\(machine).sock:\(state.folder.machineSocket))")
                return
            }
            print("lab \(state.name) is up; captures in \(state.captureDirectory)")
            print("try: ip netns exec \(state.topology.namespace(of: state.topology.clients.first?.name ?? "client01")) ping \(state.topology.vms.first?.ip.address.description ?? "10.10.0.10")")
            if let client = state.topology.clients.first, let vm = state.topology.vms.first,
               let address = LabLifecycle.vmConfiguration(vm).effectiveIPv6.first?.address {
                print("     ip netns exec \(state.topology.namespace(of: client.name)) ping -6 \(address)")
            }
            print("     l2motion migrate \(state.topology.vms.first?.name ?? "web01") --to \(state.topology.hosts.last?.name ?? "esx02")")
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "down", abstract: "Stop a lab's processes and remove its namespaces, TAPs and run folder.")
        @Option(help: "The lab's name.") var name = "l2m"
        @Option(help: "A lab across machines: take down this machine's part only.") var machine: String?

        func run() throws {
            let name = machine.map { L2Lab.Topology.partName(lab: self.name, machine: $0) } ?? self.name
            let removed = try LabLifecycle.down(lab: name)
            if removed.isEmpty {
                print("lab \(name) does not exist; nothing to do")
            } else {
                print("lab \(name) is down: removed \(removed.joined(separator: ", "))")
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Show a running lab's processes, VMs and MAC tables.")
        @Option(help: "The lab's name.") var name = "l2m"
        @Option(help: "A lab across machines: show this machine's part.") var machine: String?
        @OptionGroup var output: OutputOptions

        func run() throws {
            try LabAccess.require()
            let name = machine.map { L2Lab.Topology.partName(lab: self.name, machine: $0) } ?? self.name
            guard let state = LabState.load(lab: name) else {
                throw UserFacingError("lab \(name) is not up (no \(RunFolder(lab: name).stateFile)); start it with `l2motion lab up`")
            }
            let status = LabStatus.collect(state)
            if output.json { return try printJSON(status) }
            print("lab \(status.name), up since \(status.createdAt), captures in \(status.captureDirectory)")
            if let machine = state.machine, let whole = state.wholeTopology {
                let others = whole.machines.filter { $0.name != machine }.map { "\($0.name) (\($0.underlay)\($0.control.map { ", control \($0)" } ?? ""))" }
                print("machine \(machine) of lab \(whole.name), relay \(state.folder.machineSocket); other machines: \(others.joined(separator: ", "))")
            }
            printTable(["PROCESS", "PID", "STATE"], status.processes.map { [$0.name, String($0.pid), $0.alive ? "running" : "DEAD"] })
            print("")
            let forged = status.hosts.contains { $0.forgedTransmitDrops > 0 || $0.portGroups.contains { $0.forgedTransmits == .reject } }
            printTable(["HOST", "PORT GROUPS"] + (forged ? ["FORGED DROPS"] : []), status.hosts.map {
                [$0.name, $0.portGroups.map(\.description).joined(separator: ", ")] + (forged ? [String($0.forgedTransmitDrops)] : [])
            })
            print("")
            printTable(["VM", "HOST", "STATE", "IP", "IPV6", "MAC", "WORKLOAD", "SERVICES", "UDP COUNTER"], status.vms.map {
                [$0.name, $0.host, $0.state, $0.ip, $0.ipv6 ?? "-", $0.mac, $0.workload, $0.services ?? "-", String($0.udpCounter)]
            })
            if !status.members.isEmpty {
                print("")
                printTable(["SWITCH", "MEMBER", "KIND", "ENDPOINT", "STATE", "COUNTS"], status.members.map { row in
                    [row.switch, row.state.port, row.state.kind, row.endpoint, row.state.state,
                     row.state.counters.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")]
                })
            }
            for (switchName, rows) in status.macTables.sorted(by: { $0.key < $1.key }) {
                print("\nMAC table \(switchName)")
                let vlans = rows.contains { $0.vlan != 0 }
                printTable(["MAC"] + (vlans ? ["VLAN"] : []) + ["PORT", "AGE", "MOVES"], rows.map {
                    [$0.mac.description] + (vlans ? [String($0.vlan)] : []) + [$0.portName, "\($0.ageMs) ms", String($0.moves)]
                })
            }
        }
    }

    struct Topology: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "topology", abstract: "Print an embedded topology (YAML), or check a file.")
        @Option(help: "A YAML topology file to check.") var check: String?
        @Option(help: "Which embedded topology to print: \(TopologyExamples.names.joined(separator: ", ")).") var example = "default"

        func validate() throws { _ = try TopologyExamples.yaml(named: example) }

        func run() throws {
            if let check {
                let topology = try TopologyLoader.load(path: check)
                print("\(check): valid lab \(topology.name) with \(topology.switches.count) switches, \(topology.clients.count) clients, \(topology.hosts.count) hosts, \(topology.vms.count) VMs"
                      + (topology.spansMachines ? " on \(topology.machines.count) machines (\(topology.machines.map(\.name).joined(separator: ", ")))" : ""))
            } else {
                print(try TopologyExamples.yaml(named: example))
            }
        }
    }
}

/// On Ctrl-C (or SIGTERM) while a lab is being built or a demo runs: take the lab down, then exit 130.
enum CleanupOnSignal {
    nonisolated(unsafe) private static var armed = false
    private static let lock = NSLock()

    static func install(lab: String) { install(labs: [lab]) }

    /// For a command that brings several labs up one after another (a scenario's parts): each that
    /// exists when the signal comes is taken down.
    static func install(labs: [String]) {
        SignalWaiter.blockTerminationSignals()
        lock.withLock { armed = true }
        let thread = Thread {
            let signal = SignalWaiter.waitForTermination()
            let run = lock.withLock { armed }
            guard run else { return }
            FileHandle.standardError.write(Data("\ninterrupted (signal \(signal)): taking lab \(labs.joined(separator: ", ")) down\n".utf8))
            ChildProcess.terminateAllStarted()
            for lab in labs where LabLifecycle.exists(lab) { _ = try? LabLifecycle.down(lab: lab) }
            exit(130)
        }
        thread.start()
    }

    static func disarm() { lock.withLock { armed = false } }
}
