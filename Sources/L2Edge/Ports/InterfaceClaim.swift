import Foundation
import L2Control
#if canImport(Glibc)
import Glibc
#endif

/// A claim on an existing interface by one switch port, so two switches (or two runs) cannot attach
/// the same interface: an exclusive `flock` on a file under `/run/l2motion/attached/` named after the
/// namespace and the interface, held for the port's life and released by the kernel however the
/// process ends. The file holds the claiming process's PID, for the error the next claimant gets.
public final class InterfaceClaim: Sendable {
    public static let directory = "/run/l2motion/attached"
    private let descriptor: OwnedDescriptor
    public let path: String

    /// Claims `interface` in `namespace` (empty: the root namespace), or says who holds it.
    public init(interface: String, namespace: String) throws {
        try FileManager.default.createDirectory(atPath: Self.directory, withIntermediateDirectories: true)
        path = "\(Self.directory)/\(namespace.isEmpty ? "root" : namespace)--\(interface).lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemError("open", path) }
        descriptor = OwnedDescriptor(taking: fd)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var bytes = [UInt8](repeating: 0, count: 32)
            let count = pread(fd, &bytes, bytes.count, 0)
            let holder = count > 0 ? String(decoding: bytes.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            let place = namespace.isEmpty ? "the root namespace" : "namespace \(namespace)"
            throw ConfigurationError("interface \(interface) in \(place) is already a port of another l2motion switch (pid \(holder)); stop that switch or detach it first")
        }
        _ = ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pwrite(fd, pid, pid.count, 0)
    }

    /// Releases the claim and removes the file, and the claims folder and /run/l2motion when that
    /// leaves them empty (a lab's run folder keeps the latter).
    public func release() {
        guard descriptor.isOpen else { return }
        unlink(path)
        descriptor.close()
        _ = rmdir(Self.directory)
        _ = rmdir(RunFolder.root)
    }
}
