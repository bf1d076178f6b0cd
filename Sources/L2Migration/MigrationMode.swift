/// How a migration moves the VM's memory: QEMU's pre-copy (the VM runs on the source until the rest
/// fits the downtime), post-copy (the VM resumes on the destination at once and the pages it lacks
/// follow, those it touches first), or hybrid (pre-copy while rounds converge, then post-copy, like
/// QEMU's `migrate-start-postcopy` after some rounds).
public enum MigrationMode: String, Codable, Sendable, Equatable, CaseIterable {
    case precopy
    case postcopy
    case hybrid
}
