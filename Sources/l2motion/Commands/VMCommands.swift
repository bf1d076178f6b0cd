import ArgumentParser
import Foundation
import L2Control
import L2Daemons
import L2Edge
import L2Lab
import L2Guest

/// Where to find a running host's control socket.
struct HostTarget: ParsableArguments {
    @Option(help: "The host, e.g. esx01.") var host: String
    @Option(help: "Control socket path (overrides --lab).") var socket: String?
    @OptionGroup var labOptions: LabOptions

    var path: String { socket ?? labOptions.runFolder.hostSocket(host) }

    func call<Reply>(_ call: ControlCall<HostRequest, Reply>) throws -> Reply {
        try LabAccess.require()
        return try ControlClient.call(path, call)
    }
}

/// `l2motion vm ...`: power VMs on and off, list them, show their figures.
struct VMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm", abstract: "Manage VMs on a running host.",
        subcommands: [PowerOn.self, PowerOff.self, List.self, Stats.self, SendAs.self])

    struct PowerOn: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "power-on", abstract: "Power on a VM from a datastore.")
        @Argument(help: "The VM's name.") var vm: String
        @Option(help: "The datastore holding the VM's folder.") var datastore: String
        @Option(help: "MiB/s the VM's workload writes, instead of its preset's rate (same working set and pattern; 0: no writes; 1 MiB/s = 256 pages/s).")
        var dirtyRate: Double?
        @OptionGroup var target: HostTarget
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let dirtyRate { try Limits.dirtyRate.validate(dirtyRate) }
        }

        func run() throws {
            let rate = try dirtyRate.map { try DirtyRate(mebibytesPerSecond: $0) }
            let summary = try target.call(HostCall.powerOn(vm, datastore: datastore, dirtyRate: rate))
            if output.json { return try printJSON(summary) }
            print("\(summary.name) is \(summary.statistics.state) on \(target.host): \(summary.mac) \(summary.ip) \(summary.ipv6Summary), \(summary.memoryMiB) MiB, port group \"\(summary.portGroup)\", workload \(summary.workload.rateSummary), TCP services \(summary.servicesSummary)")
        }
    }

    struct PowerOff: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "power-off", abstract: "Power off a VM.")
        @Argument(help: "The VM's name.") var vm: String
        @OptionGroup var target: HostTarget

        func run() throws {
            _ = try target.call(HostCall.powerOff(vm))
            print("\(vm) powered off on \(target.host)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List a host's VMs.")
        @OptionGroup var target: HostTarget
        @OptionGroup var output: OutputOptions

        func run() throws {
            let rows = try target.call(HostCall.listVMs())
            if output.json { return try printJSON(rows) }
            // The forged-transmit drops get a column only when a VM here has any, so the usual table stays as it was.
            let forged = rows.contains { $0.statistics.forgedTransmitsDropped > 0 }
            printTable(["VM", "STATE", "MAC", "IP", "IPV6", "SERVICES", "MEMORY", "TOUCHED", "WORKLOAD", "DIRTY/S", "THROTTLE", "UDP COUNTER", "TCP CONNS"]
                       + (forged ? ["FORGED DROPS"] : []), rows.map {
                [$0.name, $0.statistics.state.rawValue, $0.mac.description, $0.ip.description, $0.ipv6Summary, $0.servicesSummary,
                 "\($0.memoryMiB) MiB", "\($0.statistics.pagesTouched) pages", $0.workload.rateSummary,
                 String(format: "%.0f", $0.statistics.dirtyRate), "\($0.statistics.throttlePercent)%", String($0.statistics.udpCounter),
                 $0.statistics.tcpConnections.map(String.init) ?? "-"]
                    + (forged ? [String($0.statistics.forgedTransmitsDropped)] : [])
            })
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stats", abstract: "Show one VM's figures.")
        @Argument(help: "The VM's name.") var vm: String
        @OptionGroup var target: HostTarget

        func run() throws {
            try printJSON(try target.call(HostCall.vmStats(vm)))
        }
    }
}

/// `l2motion host-info HOST`: port groups, datastores, vMotion address, memory.
struct HostInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "host-info", abstract: "Show a running host's configuration.")
    @Argument(help: "The host, e.g. esx01.") var host: String
    @Option(help: "Control socket path (overrides --lab).") var socket: String?
    @OptionGroup var labOptions: LabOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try LabAccess.require()
        let info = try ControlClient.call(socket ?? labOptions.runFolder.hostSocket(host), HostCall.hostInfo)
        if output.json { return try printJSON(info) }
        print("host \(info.name) (pid \(info.pid))")
        print("  uplink      \(info.uplink)")
        print("  vMotion     \(info.vmkernel) \(info.vmkernelAddress):\(info.migrationPort)")
        print("  memory      \(info.memoryFreeMiB) of \(info.memoryLimitMiB) MiB free")
        print("  port groups \(info.portGroups.map(\.description).joined(separator: ", "))")
        if let drops = info.forgedTransmitDrops, drops > 0 || info.portGroups.contains(where: { $0.forgedTransmits == .reject }) {
            print("  forged transmits dropped \(drops)")
        }
        print("  datastores  \(info.datastores.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))")
        print("  VMs         \(info.vms.isEmpty ? "none" : info.vms.map { vm in info.vmIPv6?[vm].map { "\(vm) (\(IPv6Text.compact($0)))" } ?? vm }.joined(separator: ", "))")
        if let services = info.vmServices, !services.isEmpty {
            print("  services    \(services.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.isEmpty ? "none" : $0.value.joined(separator: " "))" }.joined(separator: ", "))")
        }
    }
}
