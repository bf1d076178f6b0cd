import ArgumentParser
import Foundation
import L2Control
import L2Lab

/// `l2motion demo`: the main job in one go, on the embedded default lab.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Bring up the default lab, ping web01 while it migrates esx01 → esx02, report, take the lab down.",
        discussion: "Exits non-zero if a ping was lost, the UDP counter went backwards, a TCP connection was reset or a downloaded byte was wrong, or the migration failed.")

    @Option(help: "The lab's name.") var name = "l2m"
    @Option(help: "web01's memory in MiB.") var memory: Int?
    @Option(help: "MiB of web01's memory filled with data at power-on.") var touched: Int?
    @Option(help: "web01's workload: idle, web or db.") var workload: String?
    @Option(help: "MiB/s web01's workload writes, instead of its preset's rate (same working set and pattern; 0: no writes).")
    var dirtyRate: Double?
    @Option(help: "Milliseconds between pings (the kernel's ping; 1 ms and up).") var pingInterval: Double = 10
    @Option(help: "Milliseconds between the TCP probe's echo requests (0: no TCP probe; it also downloads a checked stream).") var tcpInterval: Double = 20
    @Option(help: "The TCP probe's download pace, MiB/s.") var tcpDownloadRate: Double = 2
    @Option(help: "A YAML topology instead of the embedded default.") var topology: String?
    @Option(help: "An embedded example topology instead of the default: \(TopologyExamples.names.joined(separator: ", ")).") var example: String?
    @Option(help: "Where capture runs go.") var captures = "Captures"
    @Flag(help: "Migrate back to the first host afterwards.") var back = false
    @Flag(help: "Leave the lab up at the end.") var keep = false
    @OptionGroup var captureOptions: CaptureOptions
    @OptionGroup var flags: MigrationFlags
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try Limits.pingInterval.validate(pingInterval)
        guard tcpInterval >= 0, tcpInterval <= 60_000 else { throw ValidationError("--tcp-interval must be 0...60000 ms, not \(tcpInterval)") }
        guard tcpDownloadRate > 0 else { throw ValidationError("--tcp-download-rate must be positive, not \(tcpDownloadRate)") }
        if let memory { try Limits.vmMemory.validate(memory) }
        if let touched { try Limits.vmTouched.validate(touched) }
        if let dirtyRate { try Limits.dirtyRate.validate(dirtyRate) }
        if let memory, let touched, touched > memory {
            throw ValidationError("--touched \(touched) MiB is more than --memory \(memory) MiB")
        }
        if topology != nil && example != nil { throw ValidationError("give --topology FILE or --example NAME, not both") }
        if let example { _ = try TopologyExamples.yaml(named: example) }
    }

    func run() throws {
        let logger = LoggingSetup.bootstrap(label: "l2motion.demo")
        var options = DemoOptions()
        options.labName = name
        options.memoryMiB = memory
        options.touchedMiB = touched
        options.workload = workload
        options.dirtyRate = try dirtyRate.map { try DirtyRate(mebibytesPerSecond: $0) }
        options.pingIntervalMs = pingInterval
        options.tcpIntervalMs = tcpInterval
        options.tcpDownloadMiBPerSecond = tcpDownloadRate
        options.back = back
        options.keep = keep
        options.captureRoot = captures
        options.migration = try flags.options()
        options.topology = try topology.map { try TopologyLoader.load(path: $0) } ?? example.map { try TopologyExamples.topology(named: $0) }
        options.captureFormat = captureOptions.captureFormat
        options.egressRecords = captureOptions.egressRecords
        CleanupOnSignal.install(lab: name)
        let quiet = output.json
        let display = ProgressLine(enabled: !quiet)
        let runner = DemoRunner(options: options, logger: logger, say: { line in
            if !quiet {
                print(line)
                fflush(nil)
            }
        }, progress: { display.show($0) })
        let report: DemoReport
        do {
            report = try runner.run()
        } catch {
            display.finish()
            throw UserFacingError("demo failed: \(error)")
        }
        display.finish()
        CleanupOnSignal.disarm()
        if output.json {
            try printJSON(report)
        } else {
            DemoSummary.print(report)
        }
        if !report.passed { throw ExitCode(1) }
    }
}

/// The demo's readable closing summary.
enum DemoSummary {
    static func print(_ report: DemoReport) {
        Swift.print("")
        MigrationSummary.print(report.migration)
        if let back = report.back { MigrationSummary.print(back) }
        let ping = report.ping
        Swift.print(String(format: "ping: %d sent, %d received, %d lost, longest gap %.1f ms, RTT p50 %.3f ms p99 %.3f ms (real rate %.0f/s)",
                           ping.sent, ping.received, ping.lost, ping.maxGapMs, ping.rttP50Ms, ping.rttP99Ms, ping.measuredRatePerSecond))
        if let ping6 = report.ping6 {
            Swift.print(String(format: "ping -6: %d sent, %d received, %d lost, longest gap %.1f ms, RTT p50 %.3f ms",
                               ping6.sent, ping6.received, ping6.lost, ping6.maxGapMs, ping6.rttP50Ms))
        }
        if let tcp = report.tcp { Swift.print(TCPProbeText.summary(tcp, from: "client", to: report.vm)) }
        let udp = report.udpCounter
        Swift.print("UDP counter: before \(udp.before.map(String.init) ?? "-"), after \(udp.after.map(String.init) ?? "-"), \(udp.monotonic ? "always increasing" : "WENT BACKWARDS")")
        Swift.print("captures: \(report.captures.pswitch)")
        Swift.print("          \(report.captures.vmotion)")
        if let migration = report.captures.migration { Swift.print("story:    \(migration) (both switches, the migration's events as comments)") }
        Swift.print("report:   \(report.captures.reportMarkdown) (timeline \(report.captures.timeline))")
        Swift.print(report.passed ? "PASSED" : "FAILED: " + report.problems.joined(separator: "; "))
    }
}
