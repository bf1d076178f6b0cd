import ArgumentParser
import Foundation
import L2Control
import L2Daemons
import L2Edge
import L2Guest
import L2Wire

/// `l2motion host ...`: runs a host (`l2motion host NAME ...`, the default subcommand `run`) or edits a
/// running one (`l2motion host port-group add|remove`). A host named like a subcommand (`run`,
/// `port-group`, `help`) is started with `l2motion host run NAME ...`.
struct HostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host",
        abstract: "Run an emulated hypervisor host, or change a running host's port groups.",
        subcommands: [HostRunCommand.self, PortGroupCommand.self],
        defaultSubcommand: HostRunCommand.self)
}

/// `l2motion host [run] NAME ...`: runs one emulated hypervisor host in the foreground, inside its own
/// network namespace (start it with `ip netns exec NS l2motion host ...`).
struct HostRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an emulated hypervisor host (in its network namespace) until SIGINT/SIGTERM.")

    @Argument(help: "The host's name, e.g. esx01.") var name: String
    @Option(help: "The uplink interface (a production switch port).") var uplink = "vmnic0"
    @Option(help: "The vMotion VMkernel interface (a vMotion switch port).") var vmkernel = "vmk1"
    @Option(help: "The vMotion interface's IPv4 address.") var vmkAddress: String
    @Option(help: "Multi-NIC vMotion: the second vMotion VMkernel interface (on a second vMotion switch).") var vmkernel2 = "vmk2"
    @Option(help: "Multi-NIC vMotion: the second vMotion interface's IPv4 address (none: one vMotion NIC).") var vmk2Address: String?
    @Option(help: "TCP port of the migration listener.") var migrationPort: UInt16 = 8000
    @Option(help: "Memory the host can give its VMs, in MiB.") var memoryLimit = 16_384
    @Option(name: .customLong("port-group"), help: "A port group: LABEL[,vlan=N][,forged-transmits=reject|accept] (VLAN 0: untagged; forged transmits accepted unless reject). Repeatable.")
    var portGroups: [String] = []
    @Option(name: .customLong("datastore"), help: "A mounted datastore NAME=DIR. Repeatable.")
    var datastores: [String] = []
    @Option(help: "Control socket path (default /run/l2motion/<lab>/host-<NAME>.sock).") var controlSocket: String?
    @OptionGroup var labOptions: LabOptions

    func parsedPortGroups() throws -> [PortGroup] {
        var groups: [PortGroup] = []
        for text in portGroups {
            do { groups.append(try PortGroupSpec.parse(text)) } catch { throw ValidationError("--port-group: \(error.message)") }
        }
        return groups
    }

    func parsedDatastores() throws -> [String: String] {
        var result: [String: String] = [:]
        for text in datastores {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("datastore \"\(text)\" must be NAME=DIR")
            }
            guard result[parts[0]] == nil else { throw ValidationError("datastore \(parts[0]) is given twice") }
            result[parts[0]] = parts[1]
        }
        return result
    }

    func validate() throws {
        guard IPv4Address(vmkAddress) != nil else { throw ValidationError("--vmk-address \"\(vmkAddress)\" is not an IPv4 address") }
        try Limits.migrationPort.validate(Int(migrationPort))
        try Limits.hostMemory.validate(memoryLimit)
        _ = try parsedPortGroups()
        _ = try parsedDatastores()
        try PortSpec.validateInterfaceName(uplink, what: "--uplink")
        try PortSpec.validateInterfaceName(vmkernel, what: "--vmkernel")
        if let vmk2Address {
            guard IPv4Address(vmk2Address) != nil else { throw ValidationError("--vmk2-address \"\(vmk2Address)\" is not an IPv4 address") }
            try PortSpec.validateInterfaceName(vmkernel2, what: "--vmkernel2")
            guard vmkernel2 != vmkernel, vmk2Address != vmkAddress else {
                throw ValidationError("--vmkernel2 \(vmkernel2) \(vmk2Address) must differ from --vmkernel \(vmkernel) \(vmkAddress)")
            }
        }
    }

    func run() throws {
        SignalWaiter.blockTerminationSignals()
        let logger = LoggingSetup.bootstrap(label: "l2motion.host.\(name)")
        let folder = labOptions.runFolder
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        var settings = HostSettings(
            name: name, uplink: uplink, vmkernel: vmkernel, vmkernelAddress: IPv4Address(vmkAddress)!,
            migrationPort: migrationPort, memoryLimitMiB: memoryLimit, portGroups: try parsedPortGroups(),
            datastores: try parsedDatastores(), controlSocket: controlSocket ?? folder.hostSocket(name))
        settings.secondVMKernel = vmk2Address.flatMap { IPv4Address($0) }.map { VMotionNIC(interface: vmkernel2, address: $0) }
        let daemon = try HostDaemon(settings: settings, logger: logger)
        try daemon.run()
    }
}
