import ArgumentParser
import Foundation
import L2Control
import L2Daemons
import L2Lab
import L2Migration

/// Migration tuning flags shared by `migrate` and `demo`.
struct MigrationFlags: ParsableArguments {
    @Option(help: "Downtime target in ms (QEMU's downtime-limit): switch over when the rest can be sent within it (at once under --switchover-share of it; in between, once rounds stop halving it).") var downtime: Double = 300
    @Option(help: "Switch over at once when the expected downtime is at most this share of the target (0...1; the default 0.001 is 0.3 ms of 300); between it and the target, only once rounds stop halving it. 1 is QEMU's rule: switch over at the first fit (--downtime 300 --switchover-share 1).") var switchoverShare = ConvergencePolicy.defaultSwitchoverShare
    @Option(help: "Most pre-copy rounds before giving up (the VM stays on the source).") var maxRounds = 30
    @Option(help: "Most seconds before giving up (the VM stays on the source).") var maxSeconds: Double = 100
    @Flag(help: "Never throttle the workload (no SDPS/auto-converge).") var noAutoConverge = false
    @Flag(help: "Also send a gratuitous ARP with the first RARP.") var garp = false
    @Option(help: "RARP schedule after resume, in ms; none: Notify Switches off (no RARP at all).") var announce = "0,50,200,450,800"
    @Option(help: "IPv6 announce with each RARP: na (one unsolicited Neighbor Advertisement per IPv6 address of the VM, override set, to ff02::1) or none.")
    var announceIpv6 = IPv6AnnounceMode.na
    @Option(help: "Fault: the destination suppresses its first N scheduled announces (recorded as dropped).") var dropAnnounces = 0
    @Option(help: "Milliseconds the source forwards frames that still reach it after the switchover (0...60000); 0 forwards nothing, not even the frames that arrived during the stun, as ESXi does not.") var graceMs: Double = 2000
    @Flag(help: "Skip the MTU preflight (a DF ping of the vMotion interface's full MTU from the source to the destination's vmk).")
    var skipMtuCheck = false
    @Option(help: "Encrypted vMotion (AES-256-GCM): disabled, opportunistic or required.") var encryption = MigrationEncryptionMode.opportunistic
    @Option(help: "TCP connections carrying the pages (1...16), like QEMU's multifd channels; with Multi-NIC vMotion they alternate over the hosts' vMotion NICs.") var streams = 1
    @Flag(help: "Refuse when the destination's port group of the VM's label is on another VLAN (the preflight otherwise only warns).") var strictVLAN = false
    @Option(help: "How memory moves: precopy (the VM runs on the source until the rest fits the downtime), postcopy (it resumes on the destination at once; the pages it lacks follow, those it touches first), or hybrid (pre-copy while rounds converge, then post-copy). After a post-copy switchover a failed link pauses the VM on the destination (migrate --recover) and a lost source loses it.")
    var mode = MigrationMode.precopy

    /// Every number checked before anything is created or sent (ArgumentParser calls this before `run`).
    func validate() throws {
        let options = try options()
        do { try options.validate() } catch { throw ValidationError(error.message) }
    }

    func options(productionSwitch: String = "pswitch") throws -> MigrationOptions {
        var options = MigrationOptions()
        options.downtimeMs = downtime
        options.switchoverShare = switchoverShare
        options.maxRounds = maxRounds
        options.maxSeconds = maxSeconds
        options.autoConverge = !noAutoConverge
        options.garp = garp
        options.announceMs = try Self.schedule(announce)
        options.dropAnnounces = dropAnnounces
        options.announceIPv6 = announceIpv6
        options.graceMs = graceMs
        options.skipMTUCheck = skipMtuCheck
        options.productionSwitch = productionSwitch
        options.encryption = encryption
        options.streams = streams
        options.strictVLAN = strictVLAN
        options.mode = mode
        return options
    }

    /// `--announce`: milliseconds separated by commas, or `none` (an empty schedule).
    static func schedule(_ text: String) throws -> [Int] {
        if text == "none" { return [] }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let schedule = parts.compactMap { Int($0) }
        guard !text.isEmpty, schedule.count == parts.count else {
            throw ValidationError("--announce must be whole milliseconds separated by commas, like 0,50,200,450,800, or none, not \"\(text)\"")
        }
        return schedule
    }
}

/// `l2motion migrate VM --to HOST`: the CLI acts as vCenter for one live migration.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Live-migrate a VM to another host of a running lab.")

    @Argument(help: "The VM, e.g. web01.") var vm: String
    @Option(help: "The destination host, e.g. esx02.") var to: String?
    @Flag(help: "Finish a post-copy migration of VM that a failed link paused (postcopy-paused): the source reconnects and sends what the destination lacks. Takes no --to. If the source is gone, the VM is lost and the destination stops it.")
    var recover = false
    @Option(help: "The production switch (for the relearn measurement).") var productionSwitch = "pswitch"
    @OptionGroup var flags: MigrationFlags
    @OptionGroup var labOptions: LabOptions
    @Option(name: .customLong("remote"), help: "A lab across machines: another machine's control socket, MACHINE=PATH (an ssh -L forward of /run/l2motion/<lab>-<machine>/machine.sock there); repeat per machine. Wins over the topology's machines[].control.")
    var remotes: [String] = []
    @OptionGroup var output: OutputOptions

    func validate() throws {
        _ = try Self.remoteSockets(remotes)
        if recover && to != nil { throw ValidationError("--recover resumes the migration of \(vm) in progress; it takes no --to") }
        if !recover && to == nil { throw ValidationError("give the destination host with --to HOST (or --recover to finish a paused post-copy migration)") }
    }

    /// `--remote a=/path` values as a map, refusing a value that is not MACHINE=/absolute/path.
    static func remoteSockets(_ values: [String]) throws -> [String: String] {
        var sockets: [String: String] = [:]
        for value in values {
            let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].hasPrefix("/") else {
                throw ValidationError("--remote must be MACHINE=/path/to/socket, like b=/run/l2motion-remote/b.sock, not \"\(value)\"")
            }
            guard sockets[parts[0]] == nil else { throw ValidationError("--remote gives machine \(parts[0]) twice") }
            sockets[parts[0]] = parts[1]
        }
        return sockets
    }

    func run() throws {
        let coordinator = MigrationCoordinator(lab: labOptions.lab, remotes: try Self.remoteSockets(remotes))
        let display = ProgressLine(enabled: !output.json)
        let report: MigrationReport
        do {
            let options = try flags.options(productionSwitch: productionSwitch)
            if recover {
                report = try coordinator.recover(vm: vm, options: options) { record in display.show(record) }
            } else {
                report = try coordinator.migrate(vm: vm, to: to ?? "", options: options) { record in display.show(record) }
            }
        } catch {
            display.finish()
            throw UserFacingError((recover ? "recovery refused: " : "migration refused: ") + "\(error)")
        }
        display.finish()
        if output.json {
            try printJSON(report)
        } else {
            MigrationSummary.print(report)
        }
        if recover ? report.runsOn != report.destination : report.runsOn != to { throw ExitCode(1) }
    }
}

extension MigrationEncryptionMode: ExpressibleByArgument {}
extension MigrationMode: ExpressibleByArgument {}
extension IPv6AnnounceMode: ExpressibleByArgument {}
