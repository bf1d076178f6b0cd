import Foundation
import L2Edge
import Synchronization

/// The TCP continuity probe (`l2motion tcp-probe`) running in a lab namespace in the background with
/// its output in a file: used by `tcp-test` and the demo.
public final class TCPProbeRun: Sendable {
    public let logPath: String
    public let process: ChildProcess
    /// When it started (wall clock, ns): the capture is read from here on.
    public let startedAtNs: UInt64
    private let stopped = Atomic<UInt64>(.max)
    /// When it was told to stop (wall clock, ns; `UInt64.max` while it runs): the capture is read up to here.
    public var stoppedAtNs: UInt64 { stopped.load(ordering: .acquiring) }

    /// Starts the probe in `namespace` against `address` (`executable`: the l2motion binary to run).
    public init(namespace: String, address: String, intervalMs: Double, downloadBytes: UInt64, downloadMiBPerSecond: Double,
                lab: String, logPath: String, executable: String = LabLifecycle.executable) throws {
        self.logPath = logPath
        try? FileManager.default.removeItem(atPath: logPath)
        startedAtNs = SystemClock.wallNanoseconds()
        process = try ChildProcess(["ip", "netns", "exec", namespace, executable, "tcp-probe", address,
                                    "--interval", String(intervalMs), "--download", String(downloadBytes),
                                    "--download-rate", String(downloadMiBPerSecond), "--lab", lab], logPath: logPath)
    }

    /// True while the probe still runs (a download-only probe ends by itself).
    public var isRunning: Bool { process.isRunning }

    /// Stops the probe (SIGTERM; it prints its summary lines), waits, and reads what it printed.
    public func stop() -> TCPProbeReport {
        _ = stopped.compareExchange(expected: .max, desired: SystemClock.wallNanoseconds(), ordering: .acquiringAndReleasing)
        process.signal(SIGTERM)
        _ = process.wait(seconds: 5)
        process.terminate(graceSeconds: 1)
        return TCPProbeReport.parse((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
    }
}

