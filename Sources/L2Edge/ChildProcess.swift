import CTap
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A long-running process the project started (a daemon, ping, iperf3), its output appended to a
/// log file. It is ended only by its PID, never by name. Started with `posix_spawnp` in its own
/// session, with SIGINT/SIGTERM back at their defaults and no signals blocked.
///
/// The corresponding C function is `l2m_spawn`.
public final class ChildProcess: @unchecked Sendable {
    public let arguments: [String]
    public let logPath: String?
    public let pid: Int32
    private let lock = NSLock()
    private var status: Int32?

    public init(_ arguments: [String], logPath: String? = nil, newSession: Bool = true) throws {
        precondition(!arguments.isEmpty, "a command needs at least its name")
        self.arguments = arguments
        self.logPath = logPath
        var outputFD: Int32 = -1
        if let logPath {
            outputFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard outputFD >= 0 else { throw SystemError("open log", logPath) }
        }
        defer { if outputFD >= 0 { close(outputFD) } }
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        cArguments.append(nil)
        defer { for pointer in cArguments { free(pointer) } }
        let child = l2m_spawn(cArguments, outputFD, newSession ? 1 : 0)
        guard child > 0 else { throw SystemError("start", arguments[0]) }
        pid = child
        Self.started.withLock { _ = $0.insert(child) }
    }

    /// PIDs this process started and has not reaped yet, so an interrupted CLI can end them.
    private static let started = Mutex<Set<Int32>>([])

    /// Ends (SIGTERM) every child this process started that is still running: for a Ctrl-C handler.
    /// Only PIDs this process spawned itself and has not reaped, so none can have been reused.
    public static func terminateAllStarted() {
        for pid in started.withLock({ $0 }) { kill(pid, SIGTERM) }
    }

    /// The exit status if it has ended (reaped without blocking), nil while it runs.
    public var exitStatus: Int32? {
        lock.withLock {
            if status == nil {
                var raw: Int32 = 0
                if waitpid(pid, &raw, WNOHANG) == pid {
                    status = Self.decode(raw)
                    _ = Self.started.withLock { $0.remove(pid) }
                }
            }
            return status
        }
    }

    public var isRunning: Bool { exitStatus == nil }

    /// Sends `signal` to the process, by its PID, if it has not been reaped.
    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits for the process to exit; returns its status (128 + signal if a signal ended it).
    @discardableResult
    public func wait() -> Int32 {
        lock.withLock {
            if let status { return status }
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) == -1 && errno == EINTR {}
            let decoded = Self.decode(raw)
            status = decoded
            _ = Self.started.withLock { $0.remove(pid) }
            return decoded
        }
    }

    /// Waits up to `seconds`; returns the status or nil if it still runs.
    public func wait(seconds: Double) -> Int32? {
        let deadline = SystemClock.monotonicNanoseconds() + UInt64(seconds * 1e9)
        while SystemClock.monotonicNanoseconds() < deadline {
            if let status = exitStatus { return status }
            usleep(5_000)
        }
        return exitStatus
    }

    /// SIGTERM, then SIGKILL after `graceSeconds` if it still runs; reaps it.
    public func terminate(graceSeconds: Double = 3) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if wait(seconds: graceSeconds) == nil {
            kill(pid, SIGKILL)
            wait()
        }
    }

    private static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }
}

/// Processes recorded by PID in a lab's state (not necessarily children of this invocation).
public enum ProcessControl {
    /// True if `pid` is alive and its command line contains `marker` (guards against PID reuse).
    public static func isAlive(_ pid: Int32, commandLineContains marker: String) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return false }
        let text = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        return text.contains(marker)
    }

    /// SIGTERM `pid` if it still is the recorded process, wait up to `graceSeconds`, then SIGKILL.
    public static func stop(_ pid: Int32, commandLineContains marker: String, graceSeconds: Double = 3) {
        guard isAlive(pid, commandLineContains: marker) else { return }
        kill(pid, SIGTERM)
        let deadline = SystemClock.monotonicNanoseconds() + UInt64(graceSeconds * 1e9)
        while isAlive(pid, commandLineContains: marker) && SystemClock.monotonicNanoseconds() < deadline {
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
            usleep(10_000)
        }
        if isAlive(pid, commandLineContains: marker) {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
    }
}
