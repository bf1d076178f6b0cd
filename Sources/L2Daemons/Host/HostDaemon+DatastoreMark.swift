import L2Control
import L2Edge
#if canImport(Glibc)
import Glibc
#endif

extension HostDaemon {
    /// `datastore-mark`: creates an empty `file` in the datastore's folder (an existing one is kept),
    /// or removes it (one that is not there is fine). Only `DatastoreMark` names are accepted.
    func markDatastore(_ name: String, file: String, remove: Bool) throws {
        let store = try datastore(named: name)
        try DatastoreMark.check(file)
        let path = "\(store.path)/\(file)"
        if remove {
            guard unlink(path) == 0 || errno == ENOENT else {
                throw ControlError(.failed, "cannot remove \(file) from datastore \(name) on \(settings.name): \(SystemError("unlink", path))")
            }
            return
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            throw ControlError(.failed, "cannot create \(file) in datastore \(name) on \(settings.name): \(SystemError("open", path))")
        }
        close(fd)
    }
}
