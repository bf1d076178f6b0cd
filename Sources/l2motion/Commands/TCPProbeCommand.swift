import ArgumentParser
import Foundation
import L2Edge
import L2Lab
import Synchronization

/// `l2motion tcp-probe ADDRESS`: the TCP continuity probe, run inside a client namespace
/// (`ip netns exec l2m-client01 l2motion tcp-probe 10.10.0.10`): an echo connection doing
/// request/response every interval and a `GET /bytes/N` download checked byte for byte; one line per
/// event, until both finish or SIGINT/SIGTERM.
struct TCPProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcp-probe", abstract: "Keep a TCP echo connection and a checked download open to a VM; prints one line per event.")

    @Argument(help: "The VM's IPv4 or IPv6 address (fe80::…%IFACE for link-local).") var address: String
    @Option(help: "Milliseconds between echo requests (0: no echo connection).") var interval: Double = 20
    @Option(help: "Echo requests to send (default: until a signal).") var count: Int?
    @Option(help: "Bytes of GET /bytes/N to download (0: no download).") var download: UInt64 = 0
    @Option(help: "Download pace in MiB/s (0: as fast as the VM sends).") var downloadRate: Double = 0
    @Option(help: "The echo service's port.") var echoPort: UInt16 = 7
    @Option(help: "The web service's port.") var httpPort: UInt16 = 80
    @Option(help: "The lab it belongs to (only recorded, so `lab down` finds it).") var lab = "l2m"

    func validate() throws {
        guard interval >= 0, interval <= 60_000 else { throw ValidationError("--interval must be 0...60000 ms, not \(interval)") }
        guard downloadRate >= 0 else { throw ValidationError("--download-rate must not be negative") }
        guard interval > 0 || download > 0 else { throw ValidationError("nothing to do: give --interval > 0 or --download > 0") }
    }

    func run() throws {
        SignalWaiter.blockTerminationSignals()
        var probe = TCPProbe(address: address)
        probe.intervalMs = interval
        probe.echoCount = count
        probe.downloadBytes = download
        probe.downloadMiBPerSecond = downloadRate
        probe.echoPort = echoPort
        probe.httpPort = httpPort
        let stop = Atomic<Bool>(false)
        let printer = NSLock()
        let watcher = NamedThread.start("tcp-probe-signal") {
            while !stop.load(ordering: .acquiring) {
                if SignalWaiter.pollTermination(milliseconds: 50) != nil { stop.store(true, ordering: .releasing) }
            }
        }
        probe.run(shouldStop: { stop.load(ordering: .acquiring) }) { line in
            printer.withLock {
                print(line)
                fflush(nil)
            }
        }
        stop.store(true, ordering: .releasing)
        _ = watcher.wait(seconds: 1)
    }
}

