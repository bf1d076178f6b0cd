import L2Control
import L2Migration

/// Post-copy recovery on a host: a source whose link failed after the destination resumed the VM
/// parks its state machine (the frozen memory stays with it) until `migrate-recover` reconnects; the
/// coordinator finds such migrations with `paused-migrations`.
extension MigrationService {
    /// Keeps a paused post-copy source for `migrate-recover`.
    /// The coordinator may instead decide `resume` when the destination never ran the VM (the link
    /// failed before `postcopy-start` reached it): the VM runs here again. Nothing else is accepted:
    /// a post-copy source never releases its memory without the destination's proof.
    func park(_ id: String, driver: SourceDriver, source: MigrationSource) {
        lock.withLock { parked[id] = ParkedSource(driver: driver, source: source) }
        awaitDecision(id) { [self] decision in
            guard decision == .resume else {
                return .failure(ConfigurationError("a source paused in post-copy takes resume (when the destination never ran the VM) or migrate-recover, not \(decision.rawValue)"))
            }
            guard let parked = lock.withLock({ () -> ParkedSource? in
            pendingDecisions.removeValue(forKey: id)
            return parked.removeValue(forKey: id)
        }) else {
                return .failure(ConfigurationError("migration \(id) is no longer paused here"))
            }
            parked.driver.outgoing.resume(reason: "the destination never ran it: the link failed before post-copy reached it")
            update(id) { $0.status = .failed }
            return .success("\(parked.driver.vm.name) resumed on \(host.settings.name)")
        }
    }

    /// The migrations here that are paused in post-copy (either side).
    func pausedMigrations() -> [MigrationProgress] {
        lock.withLock { progress.values.filter { $0.status == .postcopyPaused }.sorted { $0.id < $1.id } }
    }

    /// Reconnects a paused post-copy source and runs it to its end (or to the next pause).
    func recover(_ id: String) throws -> MigrationProgress {
        guard let parked = lock.withLock({ () -> ParkedSource? in
            pendingDecisions.removeValue(forKey: id)
            return parked.removeValue(forKey: id)
        }) else {
            let paused = pausedMigrations().filter { $0.role == .source }.map(\.id)
            throw ControlError(.notFound, "no post-copy migration \(id) is paused on \(host.settings.name) as its source"
                + (paused.isEmpty ? "" : " (paused here: \(paused.joined(separator: ", ")))"))
        }
        return parked.driver.recover(parked.source)
    }
}

/// A paused post-copy source: its driver (VM, request) and its state machine.
struct ParkedSource: @unchecked Sendable {
    let driver: SourceDriver
    let source: MigrationSource
}
