import ArgumentParser
import Foundation
import L2Control
import L2Edge
import L2Lab

/// `l2motion tcp-test`: TCP continuity against a running lab — an echo connection doing
/// request/response every interval and a paced download checked byte for byte, from a client to a
/// VM, for a while (migrate the VM meanwhile); then the longest stall, what tshark sees in the
/// client switch's capture (retransmissions, resets) and whether every byte arrived in order.
struct TCPTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcp-test", abstract: "Keep TCP connections open from a client to a VM of a running lab and report whether they survived.")

    @Option(help: "The VM (default: the lab's first VM).") var vm: String?
    @Option(help: "The client namespace's node (default: the lab's first client).") var client: String?
    @Option(help: "The address to connect to (default: the VM's IPv4 address).") var address: String?
    @Option(help: "Milliseconds between echo requests (0: no echo connection).") var interval: Double = 20
    @Option(help: "Bytes of GET /bytes/N to download (0: no download); it stops with the test if it is not done.") var download: UInt64 = 1 << 40
    @Option(help: "Download pace in MiB/s (0: as fast as the VM sends).") var downloadRate: Double = 10
    @Option(help: "How long to run, in seconds (Ctrl-C or SIGTERM stops it earlier).") var seconds: Double = 10
    @OptionGroup var labOptions: LabOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard seconds > 0, seconds <= 86_400 else { throw ValidationError("--seconds must be in (0, 86400], not \(seconds)") }
        guard interval >= 0, downloadRate >= 0 else { throw ValidationError("--interval and --download-rate must not be negative") }
        guard interval > 0 || download > 0 else { throw ValidationError("nothing to do: give --interval > 0 or --download > 0") }
    }

    func run() throws {
        try LabAccess.require()
        SignalWaiter.blockTerminationSignals()
        let resolved = try ProbeTarget(lab: labOptions.lab, vm: vm, client: client)
        let state = resolved.state, target = resolved.vm, source = resolved.client
        let destination = address ?? target.ip.address.description
        let log = NSTemporaryDirectory() + "l2motion-tcp-\(getpid()).txt"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let probe = try TCPProbeRun(namespace: state.topology.namespace(of: source.name), address: destination, intervalMs: interval,
                                    downloadBytes: download, downloadMiBPerSecond: downloadRate, lab: state.name, logPath: log)
        let deadline = SystemClock.monotonicNanoseconds() + UInt64(seconds * 1e9)
        while probe.isRunning, SystemClock.monotonicNanoseconds() < deadline {
            if SignalWaiter.pollTermination(milliseconds: 50) != nil { break }
        }
        var report = probe.stop()
        _ = try? ControlClient.call(state.folder.switchSocket(source.switch), SwitchCall.captureFlush)
        let capture = state.capturePath(of: source.switch)
        do {
            report.capture = try TCPCaptureCheck.findings(file: capture, addresses: [destination.split(separator: "%").first.map(String.init) ?? destination],
                                                          sinceNs: probe.startedAtNs, untilNs: probe.stoppedAtNs)
        } catch {
            FileHandle.standardError.write(Data("tcp-test: could not read the capture \(capture) with tshark: \(error)\n".utf8))
        }
        if output.json { return try printJSON(report) }
        print(TCPProbeText.summary(report, from: source.name, to: "\(target.name) \(destination)"))
        if !report.problems.isEmpty {
            for problem in report.problems { print("FAIL: \(problem)") }
            throw ExitCode(1)
        }
    }
}
