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

/// What a user may tune about one migration.
public struct MigrationOptions: Sendable {
    public var downtimeMs: Double = 300
    /// See `ConvergencePolicy.switchoverShare` (1: QEMU's rule).
    public var switchoverShare: Double = 0.1
    public var maxRounds: Int = 30
    public var maxSeconds: Double = 100
    public var autoConverge = true
    public var garp = false
    public var announceMs: [Int] = [0, 50, 200, 450, 800]
    public var graceMs: Double = 2000
    /// The production switch whose capture and events show the relearn.
    public var productionSwitch = "pswitch"
    /// Fault injection for reliability tests (`fault-point`, `fault-action`, `hold-ms` of `migrate-send`).
    public var faultPoint: String?
    public var faultAction: String?
    public var holdMs: Int?
    /// Seconds without progress on the stream before the source gives up on it.
    public var stallSeconds: Double = 5
    /// Encrypted vMotion: disabled, opportunistic (default) or required, for both hosts.
    public var encryption = "opportunistic"
    /// Called once the source reports it is holding at the fault point (the test applies its fault then).
    public var onHold: (@Sendable (MigrationProgress) -> Void)?
    public init() {}
}

/// The CLI acting as vCenter for one migration: preflight (confirmed by the destination), a fresh
/// id and secret for both hosts, the transfer run by the source host, progress, the resolution of an
/// ambiguous end, and the relearn read from the production switch.
public struct MigrationCoordinator: Sendable {
    public let directory: LabDirectory

    public init(lab: String) { directory = LabDirectory(lab: lab) }

    /// Which host runs `vm` now; an error if none, or (never expected) several.
    public func locate(vm: String) throws -> (host: String, summary: VMSummary) {
        var found: [(String, VMSummary)] = []
        for host in directory.hosts {
            guard let vms = try? directory.host(host, "list-vms", ["scan": "false"], as: [VMSummary].self) else { continue }
            if let summary = vms.first(where: { $0.name == vm }) { found.append((host, summary)) }
        }
        guard !found.isEmpty else {
            throw MigrationError("no host of lab \(directory.folder.lab) runs a VM named \(vm) (hosts: \(directory.hosts.joined(separator: ", ")))")
        }
        guard found.count == 1 else {
            throw MigrationError("VM \(vm) is registered on several hosts (\(found.map(\.0).joined(separator: ", "))); resolve that first")
        }
        return found[0]
    }

    /// Every check before anything changes; returns what was checked, in words.
    public func preflight(vm: String, from source: String, summary: VMSummary, to destination: String) throws -> [String] {
        guard source != destination else { throw MigrationError("\(vm) already runs on \(destination)") }
        guard directory.hosts.contains(destination) else {
            throw MigrationError("no host \(destination) in lab \(directory.folder.lab) (hosts: \(directory.hosts.joined(separator: ", ")))")
        }
        guard summary.statistics.state == .running else {
            throw MigrationError("\(vm) is \(summary.statistics.state) on \(source), not running; is it already migrating?")
        }
        let sourceInfo = try directory.host(source, "host-info", as: HostInfo.self)
        let destinationInfo = try directory.host(destination, "host-info", as: HostInfo.self)
        var checks: [String] = []

        guard let destinationPath = destinationInfo.datastores[summary.datastore] else {
            throw MigrationError("datastore \(summary.datastore) holding \(vm)'s files is not mounted on \(destination) (it mounts: \(destinationInfo.datastores.keys.sorted().joined(separator: ", "))); vMotion needs shared storage")
        }
        let sourcePath = sourceInfo.datastores[summary.datastore] ?? ""
        let probe = ".l2motion-probe-\(UInt64.random(in: 1...UInt64.max))"
        _ = FileManager.default.createFile(atPath: "\(sourcePath)/\(probe)", contents: Data())
        defer { try? FileManager.default.removeItem(atPath: "\(sourcePath)/\(probe)") }
        let seen = try directory.host(destination, "datastore-probe", ["datastore": summary.datastore, "file": probe], as: [String: Bool].self)
        guard seen["present"] == true else {
            throw MigrationError("datastore \(summary.datastore) on \(destination) (\(destinationPath)) is not the same storage as on \(source) (\(sourcePath)); vMotion needs shared storage")
        }
        checks.append("shared storage: datastore \(summary.datastore) is the same folder on \(source) and \(destination)")

        guard destinationInfo.portGroups.contains(where: { $0.label == summary.portGroup }) else {
            let labels = destinationInfo.portGroups.map { "\"\($0.label)\"" }.joined(separator: ", ")
            throw MigrationError("port group \"\(summary.portGroup)\" not found on \(destination) (it has: \(labels)); labels must match exactly, case included")
        }
        checks.append("port group: \"\(summary.portGroup)\" exists on \(destination)")

        guard destinationInfo.memoryFreeMiB >= summary.memoryMiB else {
            throw MigrationError("\(destination) has \(destinationInfo.memoryFreeMiB) MiB free, \(vm) needs \(summary.memoryMiB) MiB")
        }
        checks.append("memory: \(summary.memoryMiB) MiB of \(destinationInfo.memoryFreeMiB) MiB free on \(destination)")

        let reach = try directory.host(source, "vmotion-reach", ["address": destinationInfo.vmkernelAddress], as: [String: Bool].self)
        guard reach["reached"] == true else {
            throw MigrationError("\(source) cannot reach \(destination)'s vMotion interface \(destinationInfo.vmkernelAddress) from \(sourceInfo.vmkernel) \(sourceInfo.vmkernelAddress); check the vMotion segment")
        }
        checks.append("vMotion network: \(sourceInfo.vmkernel) \(sourceInfo.vmkernelAddress) reaches \(destinationInfo.vmkernelAddress)")
        return checks
    }

    /// Runs the whole migration. `progress` is called about every 100 ms while it runs.
    public func migrate(vm: String, to destination: String, options: MigrationOptions,
                        progress: @escaping @Sendable (MigrationProgress) -> Void = { _ in }) throws -> MigrationReport {
        let (source, summary) = try locate(vm: vm)
        let checks = try preflight(vm: vm, from: source, summary: summary, to: destination)
        let destinationInfo = try directory.host(destination, "host-info", as: HostInfo.self)
        let id = MigrationID(high: UInt64.random(in: 0...UInt64.max), low: UInt64.random(in: 0...UInt64.max))
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255) }
        do {
            _ = try directory.host(destination, "migrate-prepare", [
                "id": id.description, "secret": Hex.encode(secret), "vm": vm, "datastore": summary.datastore,
                "garp": options.garp ? "true" : "false", "announce-ms": options.announceMs.map(String.init).joined(separator: ","),
                "encryption": options.encryption,
            ], as: [String: String].self)
        } catch {
            throw MigrationError("\(destination) refused to receive \(vm): \(error)")
        }
        let eventsBefore = (try? directory.switchCall(options.productionSwitch, "events", as: SwitchEventPageSnapshot.self).next) ?? 0

        let outcome = SendOutcome()
        let arguments: [String: String] = [
            "vm": vm, "id": id.description, "secret": Hex.encode(secret), "destination": destinationInfo.vmkernelAddress,
            "port": String(destinationInfo.migrationPort), "downtime-ms": String(options.downtimeMs),
            "switchover-share": String(options.switchoverShare),
            "max-rounds": String(options.maxRounds), "max-seconds": String(options.maxSeconds),
            "auto-converge": options.autoConverge ? "true" : "false", "grace-ms": String(options.graceMs),
            "stall-seconds": String(options.stallSeconds), "encryption": options.encryption,
        ].merging([
            "fault-point": options.faultPoint, "fault-action": options.faultAction, "hold-ms": options.holdMs.map(String.init),
        ].compactMapValues { $0 }) { first, _ in first }
        let directory = self.directory
        let timeout = Int(options.maxSeconds) + 60
        let sender = Thread {
            do {
                outcome.set(.success(try directory.host(source, "migrate-send", arguments, as: MigrationProgress.self, timeoutSeconds: timeout)))
            } catch {
                outcome.set(.failure(MigrationError("\(error)")))
            }
        }
        sender.start()
        var held = false
        while !outcome.isSet {
            if let record = try? directory.host(source, "migration-status", ["id": id.description], as: MigrationProgress.self, timeoutSeconds: 2) {
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
            sourceRecord = (try? directory.host(source, "migration-status", ["id": id.description], as: MigrationProgress.self))
                ?? MigrationProgress(id: id.description, role: .source, vm: vm)
            if sourceRecord.status == "setup" { sourceRecord.status = "source-lost"; sourceRecord.error = "\(error)" }
        }
        let ambiguous = sourceRecord.status == "awaiting-coordinator" || sourceRecord.status == "source-lost"
        var destinationAnswer: DestinationAnswer = ambiguous ? destinationStatus(destination, id: id.description) : .silent
        var destinationRecord = ambiguous ? destinationAnswer.record
            : try? directory.host(destination, "migration-status", ["id": id.description], as: MigrationProgress.self, timeoutSeconds: 2)

        var outcomeText: String
        switch sourceRecord.status {
        case "completed":
            outcomeText = "\(vm) runs on \(destination)"
        case "awaiting-coordinator", "source-lost":
            if case .silent = destinationAnswer {
                outcomeText = "unresolved: \(destination) does not answer, so whether it runs \(vm) is unknown; \(vm) stays stunned on \(source) until it can be decided (migration \(id))"
                break
            }
            outcomeText = try resolve(vm: vm, id: id.description, source: source, destination: destination,
                                      sourceRecord: sourceRecord, destinationRecord: destinationRecord)
            destinationAnswer = destinationStatus(destination, id: id.description)
            destinationRecord = destinationAnswer.record
        default:
            outcomeText = "\(vm) still runs on \(source): \(sourceRecord.error ?? sourceRecord.result?.error ?? sourceRecord.status)"
            // The destination may still wait for a stream that will not come (a cut link sends no
            // reset): tell it to drop what it holds now rather than at its idle timeout.
            _ = try? directory.host(destination, "migrate-cancel", ["id": id.description], as: Nothing.self, timeoutSeconds: 2)
        }

        var result = sourceRecord.result ?? MigrationResult.placeholder(status: .failed, error: sourceRecord.error)
        if result.error == nil, let error = sourceRecord.error { result.error = error }
        var report = MigrationReport(result: result, id: id.description, vm: vm, source: source, destination: destination,
                                     preflight: checks, outcome: outcomeText)
        report.stunAt = sourceRecord.stunAt
        report.resumedAt = destinationRecord?.resumedAt
        if let resumed = destinationRecord?.resumedAt {
            report.announce = (destinationRecord?.announces ?? []).map { Double(Int64(bitPattern: $0 &- resumed)) / 1e6 }
        }
        report.runsOn = (try? locate(vm: vm).host)
        if report.runsOn == destination, let resumed = report.resumedAt {
            try? measureRelearn(into: &report, mac: summary.mac, resumedAt: resumed, since: eventsBefore, options: options)
        }
        return report
    }

    /// Where a destination that did not run the VM when asked ends up once fenced.
    enum Fence {
        /// It discarded its copy (or is gone, or never heard of the migration): it will never run it.
        case discarded
        /// It resumed the VM before the cancel reached it: it runs it now, so it keeps it.
        case running
        /// It did not settle: nothing can be concluded.
        case undecided(String)
    }

    /// Makes sure a destination that does not run the VM never will: asks it to cancel, then waits
    /// until it has discarded its copy or, having resumed the VM first (the switchover was already in
    /// its socket), runs it. Without this, a source resumed on "not running yet" could run the VM while
    /// the destination resumes it a moment later from bytes it had already received.
    func fence(_ destination: String, id: String, record: MigrationProgress?) -> Fence {
        guard let record else { return .discarded }  // dead, or never heard of the migration
        if record.vmRunningHere { return .running }
        if record.status == "discarded" { return .discarded }
        _ = try? directory.host(destination, "migrate-cancel", ["id": id], as: Nothing.self, timeoutSeconds: 2)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            switch destinationStatus(destination, id: id) {
            case .dead, .unknownMigration:
                return .discarded
            case .silent:
                return .undecided("does not answer")
            case let .record(now):
                if now.vmRunningHere { return .running }
                if now.status == "discarded" { return .discarded }
            }
            usleep(10_000)
        }
        return .undecided("did not settle within 30 s of being told to cancel")
    }

    /// The destination's record of the migration. A host whose control socket is gone or refuses
    /// connections is dead (and runs nothing); one that exists but does not answer (stopped) is asked
    /// again for up to a minute: the coordinator never guesses.
    func destinationStatus(_ destination: String, id: String) -> DestinationAnswer {
        let deadline = Date().addingTimeInterval(60)
        repeat {
            do {
                return .record(try directory.host(destination, "migration-status", ["id": id], as: MigrationProgress.self, timeoutSeconds: 2))
            } catch let error as ControlClientError where error.message.contains("cannot reach") {
                return .dead
            } catch {
                if "\(error)".contains("no migration") { return .unknownMigration }
            }
            usleep(200_000)
        } while Date() < deadline
        return .silent
    }

    /// What the destination said about a migration whose end the source could not see.
    enum DestinationAnswer {
        case record(MigrationProgress)
        /// Its control socket refuses connections: the process is gone, so it runs nothing.
        case dead
        /// It answers but never heard of the migration: it runs nothing of it.
        case unknownMigration
        /// It exists but did not answer within a minute: nothing can be concluded.
        case silent

        var record: MigrationProgress? { if case let .record(record) = self { record } else { nil } }
    }

    /// The source could not tell how the switchover ended: ask the destination, then decide. Two
    /// copies never run: the destination keeps the VM only if it runs there; otherwise it is fenced
    /// first (told to cancel, and seen to have discarded its copy) and only then does the source resume.
    func resolve(vm: String, id: String, source: String, destination: String, sourceRecord: MigrationProgress,
                 destinationRecord: MigrationProgress?) throws -> String {
        if destinationRecord?.vmRunningHere != true, destinationRecord?.status == "awaiting-coordinator" {
            _ = try? directory.host(destination, "migration-resolve", ["id": id, "decision": "discard"], as: [String: String].self)
        }
        switch fence(destination, id: id, record: destinationRecord) {
        case .running:
            _ = try? directory.host(destination, "migration-resolve", ["id": id, "decision": "keep"], as: [String: String].self)
            _ = try? directory.host(source, "migration-resolve", ["id": id, "decision": "release"], as: [String: String].self)
            return "\(vm) runs on \(destination) (the coordinator confirmed it after the link to \(source) was lost)"
        case let .undecided(why):
            return "unresolved: \(destination) \(why), so whether it will run \(vm) is unknown; \(vm) stays stunned on \(source) until it can be decided (migration \(id))"
        case .discarded:
            break
        }
        if sourceRecord.status == "source-lost" {
            return "\(source) died during the migration before \(destination) ran \(vm): \(vm) is down (the source itself failed)"
        }
        do {
            _ = try directory.host(source, "migration-resolve", ["id": id, "decision": "resume"], as: [String: String].self)
        } catch {
            return "\(source) could not resume \(vm) (\(error)); \(destination) does not run it: \(vm) is down"
        }
        return "\(vm) resumed on \(source) (\(destination) never ran it)"
    }

    /// Reads the station move from the production switch and the RARP frames from its capture.
    func measureRelearn(into report: inout MigrationReport, mac: MACAddress, resumedAt: UInt64, since cursor: UInt64,
                        options: MigrationOptions) throws {
        let events = try directory.switchCall(options.productionSwitch, "events", ["since": String(cursor)], as: SwitchEventPageSnapshot.self)
        if let move = events.events.first(where: { $0.kind == .moved && $0.mac == mac }) {
            report.relearnMs = Double(Int64(bitPattern: move.timeNs &- resumedAt)) / 1e6
            report.relearnFrame = move.frameNumber
        }
        let status = try directory.switchCall(options.productionSwitch, "status", as: SwitchStatus.self)
        _ = try directory.switchCall(options.productionSwitch, "capture-flush", as: [String: UInt64].self)
        let stun = report.stunAt ?? resumedAt
        let frames = try PcapReader.readAll(path: status.capture, filter: "rarp and ether src \(mac)")
        report.announceFrames = frames.filter { $0.wallNanoseconds >= stun }.map(\.number)
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
    /// A result for a migration that never reported one (e.g. its source died).
    static func placeholder(status: MigrationStatus, error: String?) -> MigrationResult {
        MigrationResult(status: status, totalTime: 0, setupTime: nil, downtime: nil, expectedDowntime: nil, stunToResumedAck: nil,
                        ram: RAMStats(), cpuThrottlePercentage: 0, rounds: [], verified: false, error: error)
    }
}
