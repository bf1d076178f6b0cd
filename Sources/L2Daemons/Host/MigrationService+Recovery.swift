import L2Control
import L2Migration

/// Post-copy recovery on a host: a source whose link failed after the destination resumed the VM
/// parks its state machine (the frozen memory stays with it) until `migrate-recover` reconnects; the
/// coordinator finds such migrations with `paused-migrations`.
extension MigrationService {
    /// Keeps a paused post-copy source for `migrate-recover`.
    func park(_ id: String, driver: SourceDriver, source: MigrationSource) {
        lock.withLock { parked[id] = ParkedSource(driver: driver, source: source) }
    }

    /// The migrations here that are paused in post-copy (either side).
    func pausedMigrations() -> [MigrationProgress] {
        lock.withLock { progress.values.filter { $0.status == .postcopyPaused }.sorted { $0.id < $1.id } }
    }

    /// Reconnects a paused post-copy source and runs it to its end (or to the next pause).
    func recover(_ id: String) throws -> MigrationProgress {
        guard let parked = lock.withLock({ parked.removeValue(forKey: id) }) else {
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
