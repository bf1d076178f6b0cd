import Foundation
import L2Edge

/// The kernel's `ping` from a lab namespace to an address, running in the background with its output
/// in a file: the continuity probe of the demo, `ping-test` and the fault matrix. `-D -O` prints each
/// reply with its time and each missing one as it falls due, which `PingParser` reads.
public final class PingRun: Sendable {
    /// Where ping's output goes.
    public let logPath: String
    /// The interval ping was asked for, in milliseconds.
    public let intervalMs: Double
    /// The ping process (for cleanup lists that end every probe).
    public let process: ChildProcess

    /// Starts `ping -D -O -n -i INTERVAL ADDRESS` in `namespace` (`ip netns exec`).
    public init(namespace: String, address: String, intervalMs: Double, logPath: String) throws {
        self.logPath = logPath
        self.intervalMs = intervalMs
        try? FileManager.default.removeItem(atPath: logPath)
        process = try ChildProcess(["ip", "netns", "exec", namespace, "ping", "-D", "-O", "-n",
                                    "-i", String(format: "%.3f", intervalMs / 1000), address], logPath: logPath)
    }

    /// Stops ping with SIGINT (it prints its summary), waits for it, and reads what it printed.
    /// Requests sent in the last moment, whose reply was not due yet, count as in flight, not lost.
    public func stop() -> PingReport {
        let stoppedAt = SystemClock.wallNanoseconds()
        process.signal(SIGINT)
        _ = process.wait(seconds: 3)
        process.terminate(graceSeconds: 1)
        return PingParser.parse((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "",
                                nominalIntervalMs: intervalMs, stoppedAtNs: stoppedAt)
    }
}
