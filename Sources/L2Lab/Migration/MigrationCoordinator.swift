import Foundation
import L2Control
import L2Edge
import L2Migration
import L2Switch
import L2Wire

/// A migration refused or failed, in words that name what was expected and what was found.
public struct MigrationError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The CLI acting as vCenter for one migration: preflight (confirmed by the destination), a fresh
/// id and secret for both hosts, the transfer run by the source host, progress, the resolution of an
/// ambiguous end, and the relearn read from the production switch.
public struct MigrationCoordinator: Sendable {
    public let directory: LabDirectory

    /// `remotes`: in a lab across machines, other machines' relay sockets by machine name (they win
    /// over the topology's `machines[].control`).
    public init(lab: String, remotes: [String: String] = [:]) { directory = LabDirectory(lab: lab, remotes: remotes) }

    /// Which host runs `vm` now; an error if none, or (never expected) several.
    public func locate(vm: String) throws -> (host: String, summary: VMSummary) {
        var found: [(String, VMSummary)] = []
        for host in directory.hosts {
            guard let vms = try? directory.host(host, HostCall.listVMs(scan: false)) else { continue }
            if let summary = vms.first(where: { $0.name == vm }) { found.append((host, summary)) }
        }
        guard !found.isEmpty else {
            throw MigrationError("no host of lab \(directory.folder.lab) runs a VM named \(vm) (hosts: \(directory.hosts.joined(separator: ", ")))")
        }
        // A copy still being received (a failed migration's destination, until its cancel lands) does
        // not run there.
        let running = found.filter { $0.1.statistics.state != .migratingIn }
        if running.count == 1 { return running[0] }
        guard found.count == 1 else {
            throw MigrationError("VM \(vm) is registered on several hosts (\(found.map(\.0).joined(separator: ", "))); resolve that first")
        }
        return found[0]
    }

    /// What the preflight found: the checks in words, and where the destination listens for vMotion.
    public struct Preflight: Sendable {
        public var checks: [String]
        public let vmotionAddress: IPv4Address
        public let migrationPort: UInt16
        /// Multi-NIC vMotion: every vMotion NIC both hosts have (by name, vmk1 first) and that reaches
        /// its peer; empty when they share only vmk1.
        public var paths: [VMotionPath] = []
        /// The hosts' uplink interfaces (`vmnic0`): their production switch ports are where the VM's
        /// frames come from before and after the move.
        public var sourceUplink = ""
        public var destinationUplink = ""
    }

    /// Every check before anything changes; returns what was checked, in words, and the destination's
    /// vMotion listener. `mtuCheck`: probe the vMotion path at its full MTU with DF set.
    public func preflight(vm: String, from source: String, summary: VMSummary, to destination: String,
                          streams: Int = 1, strictVLAN: Bool = false, mtuCheck: Bool = true) throws -> Preflight {
        guard source != destination else { throw MigrationError("\(vm) already runs on \(destination)") }
        guard directory.hosts.contains(destination) else {
            throw MigrationError("no host \(destination) in lab \(directory.folder.lab) (hosts: \(directory.hosts.joined(separator: ", ")))")
        }
        guard summary.statistics.state == .running else {
            throw MigrationError("\(vm) is \(summary.statistics.state) on \(source), not running; is it already migrating?")
        }
        let sourceInfo = try directory.host(source, HostCall.hostInfo)
        let destinationInfo = try directory.host(destination, HostCall.hostInfo)
        var checks: [String] = []

        guard let destinationPath = destinationInfo.datastores[summary.datastore] else {
            throw MigrationError("datastore \(summary.datastore) holding \(vm)'s files is not mounted on \(destination) (it mounts: \(destinationInfo.datastores.keys.sorted().joined(separator: ", "))); vMotion needs shared storage")
        }
        let sourcePath = sourceInfo.datastores[summary.datastore] ?? ""
        // The source writes the probe file (it may run on another machine), the destination looks for it.
        let probe = ".l2motion-probe-\(UInt64.random(in: 1...UInt64.max))"
        _ = try directory.host(source, HostCall.datastoreMark(summary.datastore, file: probe, remove: false))
        defer { _ = try? directory.host(source, HostCall.datastoreMark(summary.datastore, file: probe, remove: true)) }
        let seen = try directory.host(destination, HostCall.datastoreProbe(summary.datastore, file: probe))
        guard seen.present else {
            throw MigrationError("datastore \(summary.datastore) on \(destination) (\(destinationPath)) is not the same storage as on \(source) (\(sourcePath)); vMotion needs shared storage")
        }
        checks.append("shared storage: datastore \(summary.datastore) is the same folder on \(source) and \(destination)")

        guard destinationInfo.portGroups.contains(where: { $0.label == summary.portGroup }) else {
            let labels = destinationInfo.portGroups.isEmpty ? "no port groups" : destinationInfo.portGroups.map { "\"\($0.label)\"" }.joined(separator: ", ")
            throw MigrationError("port group \"\(summary.portGroup)\" not found on \(destination) (it has: \(labels)); labels must match exactly, case included")
        }
        checks.append("port group: \"\(summary.portGroup)\" exists on \(destination)")
        if let vlan = try Self.vlanCheck(vm: vm, label: summary.portGroup, source: (source, sourceInfo.portGroups),
                                         destination: (destination, destinationInfo.portGroups), strict: strictVLAN) { checks.append(vlan) }

        guard destinationInfo.memoryFreeMiB >= summary.memoryMiB else {
            throw MigrationError("\(destination) has \(destinationInfo.memoryFreeMiB) MiB free, \(vm) needs \(summary.memoryMiB) MiB")
        }
        checks.append("memory: \(summary.memoryMiB) MiB of \(destinationInfo.memoryFreeMiB) MiB free on \(destination)")

        guard let destinationVMK = IPv4Address(destinationInfo.vmkernelAddress) else {
            throw MigrationError("\(destination) reports a vMotion address \(destinationInfo.vmkernelAddress) that is not IPv4")
        }
        guard try directory.host(source, HostCall.vmotionReach(destinationVMK)).reached else {
            throw MigrationError("\(source) cannot reach \(destination)'s vMotion interface \(destinationInfo.vmkernelAddress) from \(sourceInfo.vmkernel) \(sourceInfo.vmkernelAddress); check the vMotion segment")
        }
        checks.append("vMotion network: \(sourceInfo.vmkernel) \(sourceInfo.vmkernelAddress) reaches \(destinationInfo.vmkernelAddress)")
        var preflight = Preflight(checks: checks, vmotionAddress: destinationVMK, migrationPort: destinationInfo.migrationPort)
        preflight.sourceUplink = sourceInfo.uplink
        preflight.destinationUplink = destinationInfo.uplink
        if streams > 1 {
            try planLanes(&preflight, streams: streams, source: (source, sourceInfo), destination: (destination, destinationInfo))
        }
        if mtuCheck {
            try checkMTU(&preflight, source: source, sourceInterface: sourceInfo.vmkernel)
        } else {
            preflight.checks.append("MTU: not checked (--skip-mtu-check)")
        }
        return preflight
    }

    /// Runs the whole migration. `progress` is called about every 100 ms while it runs.
    public func migrate(vm: String, to destination: String, options: MigrationOptions,
                        progress: @escaping @Sendable (MigrationProgress) -> Void = { _ in }) throws -> MigrationReport {
        try LabAccess.require()
        do { try options.validate() } catch { throw MigrationError(error.message) }
        do { try directory.checkMachines() } catch { throw MigrationError(error.message) }
        let (source, summary) = try locate(vm: vm)
        let preflight = try preflight(vm: vm, from: source, summary: summary, to: destination, streams: options.streams,
                                      strictVLAN: options.strictVLAN, mtuCheck: !options.skipMTUCheck)
        let id = MigrationID(high: UInt64.random(in: 0...UInt64.max), low: UInt64.random(in: 0...UInt64.max))
        let secret = MigrationSecret.random()
        let send = MigrateSendArguments(
            vm: vm, id: id, secret: secret, destination: preflight.vmotionAddress, port: preflight.migrationPort,
            downtimeMs: options.downtimeMs, switchoverShare: options.switchoverShare, maxRounds: options.maxRounds,
            maxSeconds: options.maxSeconds, autoConverge: options.autoConverge, graceMs: options.graceMs,
            stallSeconds: options.stallSeconds, encryption: options.encryption, fault: options.fault,
            streams: options.streams, paths: preflight.paths, mode: options.mode)
        do {
            _ = try directory.host(destination, HostCall.migratePrepare(MigratePrepareArguments(
                id: id, secret: secret, vm: vm, datastore: summary.datastore, garp: options.garp,
                announceMs: options.announceMs, encryption: options.encryption, streams: options.streams,
                dropAnnounces: options.dropAnnounces, mode: options.mode, announceIPv6: options.announceIPv6)))
        } catch {
            throw MigrationError("\(destination) refused to receive \(vm): \(error)")
        }
        let idText = id.description
        let relearnSwitches = relearnSwitches(productionSwitch: options.productionSwitch, source: source, destination: destination)

        let outcome = SendOutcome()
        let directory = self.directory
        let timeout = Int(options.maxSeconds) + 60
        let sender = Thread {
            do {
                outcome.set(.success(try directory.host(source, HostCall.migrateSend(send), timeoutSeconds: timeout)))
            } catch {
                outcome.set(.failure(MigrationError("\(error)")))
            }
        }
        sender.start()
        var held = false
        while !outcome.isSet {
            if let record = try? directory.host(source, HostCall.migrationStatus(idText), timeoutSeconds: 2) {
                progress(record)
                if !held, record.phase.hasPrefix("held:"), let onHold = options.onHold {
                    held = true
                    onHold(record)
                }
            }
            usleep(held || options.onHold == nil ? 100_000 : 20_000)
        }
        var sourceRecord: MigrationProgress
        switch outcome.value! {
        case let .success(record): sourceRecord = record
        case let .failure(error):
            // The source host did not answer: it may have died. Ask both what they hold.
            sourceRecord = (try? directory.host(source, HostCall.migrationStatus(idText)))
                ?? MigrationProgress(id: idText, role: .source, vm: vm)
            if sourceRecord.status == .setup { sourceRecord.status = .sourceLost; sourceRecord.error = "\(error)" }
        }

        var outcomeText: String
        var destinationRecord: MigrationProgress?
        // Post-copy: a source gone after the switchover takes the pages the VM lacks with it.
        let lost = sourceRecord.status == .sourceLost && options.mode != .precopy
            ? lostInPostcopy(vm: vm, id: idText, source: source, destination: destination) : nil
        switch sourceRecord.status {
        case .completed:
            outcomeText = "\(vm) runs on \(destination)"
            destinationRecord = try? directory.host(destination, HostCall.migrationStatus(idText), timeoutSeconds: 2)
        case .postcopyPaused:
            // Gone (nothing listens on its control socket) is not the same as slow (no answer yet).
            var destinationGone = false
            do {
                destinationRecord = try directory.host(destination, HostCall.migrationStatus(idText), timeoutSeconds: 5)
            } catch {
                destinationGone = error.code == .unreachable
            }
            if let record = destinationRecord, record.status == .discarded || !record.vmHere {
                // The link failed before post-copy reached the destination: it never ran the VM.
                let resumed = (try? directory.host(source, HostCall.migrationResolve(idText, .resume))) != nil
                outcomeText = resumed ? "\(vm) still runs on \(source): the vMotion link failed before the post-copy switchover reached \(destination)"
                                      : "\(vm) is stunned on \(source): \(destination) never ran it, and \(source) did not resume it; run `l2motion migrate --recover \(vm)` or check \(source)"
                break
            }
            outcomeText = destinationGone
                ? "\(vm) is LOST: \(destination) is gone after the post-copy switchover, and \(vm) ran there since; \(source) holds only its memory as of the stun. Power it on again from its datastore"
                : "\(vm) is paused on \(destination) (postcopy-paused): the vMotion link failed during post-copy, after \(vm) resumed there; \(source) keeps the pages \(destination) still lacks. Repair the link, then run `l2motion migrate --recover \(vm)` to finish"
        case .sourceLost where lost != nil:
            outcomeText = lost ?? ""
            destinationRecord = try? directory.host(destination, HostCall.migrationStatus(idText), timeoutSeconds: 2)
        case .awaitingCoordinator, .sourceLost:
            let resolution = resolve(id: idText, source: source, destination: destination,
                                     sourceLost: sourceRecord.status == .sourceLost)
            outcomeText = resolution.verdict.outcome(vm: vm, id: idText, source: source, destination: destination)
            destinationRecord = resolution.destinationRecord
        default:
            outcomeText = "\(vm) still runs on \(source): \(sourceRecord.error ?? sourceRecord.result?.error ?? sourceRecord.status.rawValue)"
            destinationRecord = try? directory.host(destination, HostCall.migrationStatus(idText), timeoutSeconds: 2)
            // The destination may still wait for a stream that will not come (a cut link sends no
            // reset): tell it to drop what it holds now rather than at its idle timeout.
            _ = try? directory.host(destination, HostCall.migrateCancel(idText), timeoutSeconds: 2)
        }

        var result = sourceRecord.result ?? MigrationResult.placeholder(status: .failed, error: sourceRecord.error)
        if result.error == nil, let error = sourceRecord.error { result.error = error }
        result.addDestinationPostcopy(destinationRecord?.destination?.postcopy)
        // The first announce is the destination's to tell: its record holds when each frame went out.
        if result.switchover != nil, let first = destinationRecord?.announces.first { result.switchover?.firstAnnounceAt = first }
        var report = MigrationReport(result: result, id: idText, vm: vm, source: source, destination: destination,
                                     preflight: preflight.checks, outcome: outcomeText)
        report.stunAt = sourceRecord.stunAt
        report.committedAt = sourceRecord.committedAt
        report.resumedAt = destinationRecord?.resumedAt
        report.notifySwitches = !options.announceMs.isEmpty
        if let resumed = destinationRecord?.resumedAt {
            func afterResume(_ at: UInt64) -> Double { Double(Int64(bitPattern: at &- resumed)) / 1e6 }
            report.announce = (destinationRecord?.announces ?? []).map(afterResume)
            report.announceDropped = (destinationRecord?.droppedAnnounces ?? []).map(afterResume)
            report.announceNAs = destinationRecord?.neighborAdvertisements
        }
        report.runsOn = (try? locate(vm: vm).host)
        if report.runsOn == destination {
            let relearn = RelearnSource(mac: summary.mac, productionSwitch: options.productionSwitch, switches: relearnSwitches,
                                        source: (source, preflight.sourceUplink), destination: (destination, preflight.destinationUplink))
            try? measureRelearn(into: &report, from: relearn)
        }
        return report
    }
}

/// The source host's answer to `migrate-send`, handed from the waiting thread.
final class SendOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Result<MigrationProgress, MigrationError>?
    func set(_ value: Result<MigrationProgress, MigrationError>) { lock.withLock { stored = value } }
    var isSet: Bool { lock.withLock { stored != nil } }
    var value: Result<MigrationProgress, MigrationError>? { lock.withLock { stored } }
}

extension MigrationResult {
    /// Post-copy's destination side: the faults its VM waited on, their latency, duplicates.
    mutating func addDestinationPostcopy(_ waited: PostcopyStats?) {
        guard var postcopy, let waited else { return }
        postcopy.faults = waited.faults
        postcopy.faultLatencyP50Ms = waited.faultLatencyP50Ms
        postcopy.faultLatencyP99Ms = waited.faultLatencyP99Ms
        postcopy.faultLatencyMaxMs = waited.faultLatencyMaxMs
        postcopy.duplicatePages = waited.duplicatePages
        self.postcopy = postcopy
    }

    /// A result for a migration that never reported one (e.g. its source died).
    static func placeholder(status: MigrationStatus, error: String?) -> MigrationResult {
        MigrationResult(status: status, totalTime: 0, setupTime: nil, downtime: nil, expectedDowntime: nil, stunToResumedAck: nil,
                        ram: RAMStats(), cpuThrottlePercentage: 0, rounds: [], verified: false, error: error)
    }
}
