import ArgumentParser
import Foundation
import L2Control
import L2Edge
import L2Lab

/// `l2motion ping-test`: the demo's ping continuity measurement against a running lab — the kernel's
/// ping from a client to a VM for a while (or until Ctrl-C), then sent/received/lost/longest gap/RTT.
struct PingTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping-test", abstract: "Ping a VM of a running lab from a client and report continuity (lost pings, longest gap).")

    @Option(help: "The VM to ping (default: the lab's first VM).") var vm: String?
    @Option(help: "The client namespace's node (default: the lab's first client).") var client: String?
    @Option(help: "Milliseconds between pings.") var interval: Double = 10
    @Option(help: "How long to ping, in seconds (Ctrl-C or SIGTERM stops it earlier).") var seconds: Double = 10
    @OptionGroup var labOptions: LabOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try Limits.pingInterval.named("--interval").validate(interval)
        try Limits.pingSeconds.validate(seconds)
    }

    func run() throws {
        try LabAccess.require()
        SignalWaiter.blockTerminationSignals()
        let resolved = try ProbeTarget(lab: labOptions.lab, vm: vm, client: client)
        let state = resolved.state, target = resolved.vm, source = resolved.client
        let log = NSTemporaryDirectory() + "l2motion-ping-\(getpid()).txt"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let ping = try PingRun(namespace: state.topology.namespace(of: source.name), address: target.ip.address.description,
                               intervalMs: interval, logPath: log)
        _ = SignalWaiter.pollTermination(milliseconds: Int(seconds * 1000))
        var report = ping.stop()
        if output.json {
            report.replies = []
            return try printJSON(report)
        }
        print(String(format: "ping %@ → %@ (%@): %d sent, %d received, %d lost, %d duplicates, longest gap %.1f ms, RTT p50 %.3f ms p99 %.3f ms max %.3f ms, real rate %.0f/s",
                     source.name, target.name, target.ip.address.description, report.sent, report.received, report.lost, report.duplicates,
                     report.maxGapMs, report.rttP50Ms, report.rttP99Ms, report.rttMaxMs, report.measuredRatePerSecond))
        if report.lost > 0 {
            print("lost icmp_seq: \(report.lostSequences.prefix(50).map(String.init).joined(separator: ", "))")
            throw ExitCode(1)
        }
    }
}
