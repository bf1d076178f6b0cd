import Foundation
import L2Control
import L2Edge
import L2Migration

/// `migrate --recover VM`: finishes a post-copy migration the link paused. The paused sides are
/// found on the hosts (`paused-migrations`); with the source still holding the frozen memory it
/// reconnects and runs to the end; without it (the source host gone, or its copy gone) the pages the
/// VM lacks are lost with it, and the destination stops the VM: the report says so plainly.
extension MigrationCoordinator {
    public func recover(vm: String, options: MigrationOptions,
                        progress: @escaping @Sendable (MigrationProgress) -> Void = { _ in }) throws -> MigrationReport {
        try LabAccess.require()
        do { try directory.checkMachines() } catch { throw MigrationError(error.message) }
        var destination: (host: String, record: MigrationProgress)?
        var source: (host: String, record: MigrationProgress)?
        var unreachable: [String] = []
        var silent: [String] = []
        var sources: [(host: String, record: MigrationProgress)] = []
        for host in directory.hosts {
            let paused: [MigrationProgress]
            do {
                paused = try directory.host(host, HostCall.pausedMigrations, timeoutSeconds: 10)
            } catch {
                // Nothing listens: the host is gone. No answer in time: it may be busy; that is not gone.
                if error.code == .unreachable { unreachable.append(host) } else { silent.append(host) }
                continue
            }
            for record in paused where record.vm == vm {
                if record.role == .destination { destination = (host, record) } else { sources.append((host, record)) }
            }
        }
        if let destination { source = sources.first { $0.record.id == destination.record.id } }
        guard silent.isEmpty || source != nil else {
            throw MigrationError("\(silent.joined(separator: ", ")) did not answer in time; nothing was changed. Run `l2motion migrate --recover \(vm)` again when it answers")
        }
        guard let destination else {
            let now = (try? locate(vm: vm)).map { "\(vm) is \($0.summary.statistics.state) on \($0.host)" } ?? "no host runs \(vm)"
            throw MigrationError("no migration of \(vm) is paused in post-copy (postcopy-paused), so there is nothing to recover; \(now). `--recover` finishes a post-copy migration whose link failed; start a new one with --to HOST")
        }
        let id = destination.record.id
        var report = MigrationReport(result: MigrationResult.placeholder(status: .failed, error: nil), id: id, vm: vm,
                                     source: source?.host ?? "?", destination: destination.host, preflight: [], outcome: "")
        guard let source, source.record.id == id else {
            // The source is gone: nothing holds the pages the VM still lacks. The destination stops it.
            _ = try? directory.host(destination.host, HostCall.migrateCancel(id), timeoutSeconds: 5)
            let last = try? directory.host(destination.host, HostCall.migrationStatus(id), timeoutSeconds: 5)
            let gone = unreachable.isEmpty ? "no host holds its source side" : "its source is not reachable (\(unreachable.joined(separator: ", ")))"
            report.result = MigrationResult.placeholder(status: .failed, error: last?.error ?? "the source is gone during post-copy")
            report.result.mode = .postcopy
            report.outcome = "\(vm) is LOST: \(gone) after the post-copy switchover, so the pages it lacked on \(destination.host) are gone; \(destination.host) stopped it. Power it on again from its datastore (`l2motion vm power-on \(vm) --host HOST --datastore DS`)"
            report.runsOn = nil
            return report
        }
        report.source = source.host
        let outcome = SendOutcome()
        let directory = self.directory
        let timeout = Int(options.maxSeconds) + 60
        Thread {
            do {
                outcome.set(.success(try directory.host(source.host, HostCall.migrateRecover(id), timeoutSeconds: timeout)))
            } catch {
                outcome.set(.failure(MigrationError("\(error)")))
            }
        }.start()
        while !outcome.isSet {
            if let record = try? directory.host(source.host, HostCall.migrationStatus(id), timeoutSeconds: 2) { progress(record) }
            usleep(100_000)
        }
        let record: MigrationProgress
        switch outcome.value! {
        case let .success(value): record = value
        case let .failure(error): throw MigrationError("\(source.host) could not recover migration \(id): \(error)")
        }
        let destinationRecord = try? directory.host(destination.host, HostCall.migrationStatus(id), timeoutSeconds: 2)
        var result = record.result ?? MigrationResult.placeholder(status: .failed, error: record.error)
        if result.error == nil, let error = record.error { result.error = error }
        result.addDestinationPostcopy(destinationRecord?.destination?.postcopy)
        report.result = result
        report.stunAt = record.stunAt
        report.resumedAt = destinationRecord?.resumedAt
        report.runsOn = try? locate(vm: vm).host
        switch record.status {
        case .completed:
            report.outcome = "\(vm) runs on \(destination.host): post-copy recovered and completed"
        case .postcopyPaused:
            report.outcome = "\(vm) is still paused on \(destination.host): \(record.error ?? "the recovery did not reach it"); repair the vMotion link and run `l2motion migrate --recover \(vm)` again"
        default:
            report.outcome = "\(vm): the recovery ended \(record.status.rawValue): \(record.error ?? "")"
        }
        return report
    }

    /// After the post-copy switchover the source may vanish: if the destination is paused and the
    /// source answers nothing, the VM is lost; the destination stops it. Nil when that is not the case.
    func lostInPostcopy(vm: String, id: String, source: String, destination: String) -> String? {
        guard let record = try? directory.host(destination, HostCall.migrationStatus(id), timeoutSeconds: 2),
              record.status == .postcopyPaused else { return nil }
        if let paused = try? directory.host(source, HostCall.pausedMigrations, timeoutSeconds: 2), paused.contains(where: { $0.id == id }) {
            return nil
        }
        _ = try? directory.host(destination, HostCall.migrateCancel(id), timeoutSeconds: 5)
        return "\(vm) is LOST: \(source) is gone after the post-copy switchover, with pages \(vm) lacked on \(destination); \(destination) stopped it. Power it on again from its datastore"
    }
}
