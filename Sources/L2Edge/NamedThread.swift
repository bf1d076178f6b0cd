import CTap
import Foundation

/// Starts a detached thread whose kernel name (`/proc/PID/task/TID/comm`, what `top -H`, `ps -L` and
/// `perf` show) is `name`. Foundation's `Thread.name` does not reach the kernel on Linux, so without
/// this every thread of a switch or host shows up as "l2motion".
public enum NamedThread {
    /// Runs `body` on a new thread named `name` (the kernel keeps the first 15 bytes).
    public static func start(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            _ = l2m_set_thread_name(name)
            body()
        }
        thread.name = name
        thread.start()
    }

    /// Sets the calling thread's nice value (0 is the default; higher yields the CPU to others).
    /// Returns false if the kernel refused.
    @discardableResult
    public static func setCurrentNice(_ nice: Int32) -> Bool { l2m_set_thread_nice(nice) == 0 }
}
