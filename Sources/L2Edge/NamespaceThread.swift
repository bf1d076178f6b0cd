import CTap
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension NetworkNamespace {
    /// Runs `body` on a thread of its own that has entered network namespace `name` (`setns`), and
    /// returns its result; an empty name runs it right here, in the process's namespace. A socket
    /// made in `body` stays in that namespace for its life, so the switch (in the root namespace) can
    /// hold an AF_PACKET socket on an interface of a lab namespace, or a UDP socket in an underlay's.
    /// The process's own threads never change namespace.
    public static func perform<Result: Sendable>(in name: String, _ body: @escaping @Sendable () throws -> Result) throws -> Result {
        guard !name.isEmpty else { return try body() }
        let outcome = OutcomeBox<Result>()
        let end = NamedThread.start("netns") {
            let fd = open(path(name), O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                outcome.set(.failure(SystemError("open the namespace", path(name))))
                return
            }
            defer { close(fd) }
            guard l2m_enter_netns(fd) == 0 else {
                outcome.set(.failure(SystemError("setns into namespace", name)))
                return
            }
            outcome.set(Swift.Result { try body() })
        }
        guard end.wait(seconds: 60) else { throw SystemError("work in namespace", name, errno: ETIMEDOUT) }
        return try outcome.get()
    }
}

/// The result a namespace thread hands back; set once before the semaphore, read once after it.
private final class OutcomeBox<Value: Sendable>: @unchecked Sendable {
    private var result: Result<Value, any Error>?
    func set(_ value: Result<Value, any Error>) { result = value }
    func get() throws -> Value { try result!.get() }
}
