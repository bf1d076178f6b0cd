import CTap
import Foundation

/// Starts a detached thread whose kernel name (`/proc/PID/task/TID/comm`, what `top -H`, `ps -L` and
/// `perf` show) is `name`. Foundation's `Thread.name` does not reach the kernel on Linux, so without
/// this every thread of a switch or host shows up as "l2motion".
public enum NamedThread {
    /// Runs `body` on a new thread named `name` (the kernel keeps the first 15 bytes). The returned
    /// `ThreadEnd` lets a shutdown wait for the thread to finish instead of sleeping and hoping.
    @discardableResult
    public static func start(_ name: String, _ body: @escaping @Sendable () -> Void) -> ThreadEnd {
        let end = ThreadEnd()
        let thread = Thread {
            _ = l2m_set_thread_name(name)
            body()
            end.finished()
        }
        thread.name = name
        thread.start()
        return end
    }

    /// Gives the calling thread a private copy of the process's descriptor table: the kernel then
    /// skips the file reference counting it does on every `read`, `write` and `poll` of a thread that
    /// shares its table (a single-threaded process gets this for free). The thread sees none of the
    /// descriptors other threads open or close afterwards, and closing one here closes only its copy.
    /// Returns false if the kernel refused.
    public static func usePrivateDescriptorTable() -> Bool { l2m_private_descriptor_table() == 0 }

    /// Sets the calling thread's nice value (0 is the default; higher yields the CPU to others).
    /// Returns false if the kernel refused.
    @discardableResult
    public static func setCurrentNice(_ nice: Int32) -> Bool { l2m_set_thread_nice(nice) == 0 }
}

/// The end of a thread started by `NamedThread.start`: `wait` returns once its body has returned.
public final class ThreadEnd: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)

    func finished() { semaphore.signal() }

    /// True once the thread has finished; false if it is still running after `seconds`.
    @discardableResult
    public func wait(seconds: Double) -> Bool {
        guard semaphore.wait(timeout: .now() + seconds) == .success else { return false }
        semaphore.signal()  // a later wait returns at once too
        return true
    }
}
