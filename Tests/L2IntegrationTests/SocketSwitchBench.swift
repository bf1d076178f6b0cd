import Foundation
import L2Control
import L2Edge
import L2Switch
import Logging
import Synchronization
import Testing
@testable import L2Daemons

/// A log handler that keeps every message, so a test can look for the line a switch logged.
struct CollectingLogHandler: LogHandler {
    let messages: LogLines
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        messages.lines.withLock { $0.append(event.message.description) }
    }
}

/// The lines a `CollectingLogHandler` kept (a handler is a value and is copied; this is shared).
final class LogLines: Sendable {
    let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
}

/// A real `SwitchDaemon` forwarding thread over socket-pair ports, without root: each port's other
/// end is a descriptor the test writes frames into and reads the switch's output from.
final class SocketSwitchBench {
    let daemon: SwitchDaemon
    let ports: [DatagramSocketPort]
    let peers: [OwnedDescriptor]
    let directory: String
    let log = LogLines()
    private let forwarding: DispatchSemaphore
    private var stopped = false

    /// Ports p1, p2, … one per entry of `virtioHeaders` (whether that port's frames carry a header);
    /// `configure` may change the settings (port specs' VLAN modes, hold-down, …) before the switch starts.
    init(virtioHeaders: [Bool], configure: (inout SwitchSettings) -> Void = { _ in }) throws {
        directory = "/tmp/l2m-sockswitch-\(getpid())-\(UUID().uuidString.prefix(8))"
        let specs = virtioHeaders.indices.map { PortSpec(name: "p\($0 + 1)", namespace: "none", interface: "sock\($0 + 1)") }
        let pairs = try virtioHeaders.enumerated().map { index, header in
            try DatagramSocketPort.pair(name: "sock\(index + 1)", virtioHeader: header)
        }
        ports = pairs.map(\.port)
        peers = pairs.map(\.peer)
        var settings = SwitchSettings(name: "sw", ports: specs, captureDirectory: directory,
                                      controlSocket: directory + "/sw.sock")
        configure(&settings)
        let messages = log
        let made = ports
        daemon = try SwitchDaemon(settings: settings, logger: Logger(label: "socket-switch") { _ in CollectingLogHandler(messages: messages) }) {
            made
        }
        forwarding = daemon.startForwarding()
    }

    /// Stops the forwarding thread, closes the ports and captures, removes the capture folder.
    func stop() {
        _ = stopReturningCapture()
    }

    /// `stop()`, returning the closed capture file's bytes (nil once stopped).
    func stopReturningCapture() -> [UInt8]? {
        guard !stopped else { return nil }
        stopped = true
        daemon.stopForwarding(forwarding)
        daemon.shutdown()
        for peer in peers { peer.close() }
        let bytes = FileManager.default.contents(atPath: daemon.settings.capturePath).map { [UInt8]($0) }
        try? FileManager.default.removeItem(atPath: directory)
        return bytes
    }

    deinit { stop() }

    /// Puts one frame on the cable of port `index` (0 is p1), towards the switch.
    func send(_ frame: [UInt8], into index: Int) throws {
        #expect(try frame.withUnsafeBytes { try peers[index].write($0) } == frame.count)
    }

    /// The next frame the switch sent out of port `index`, waiting for it up to 10 s; nil if none came.
    func receive(from index: Int) throws -> [UInt8]? {
        var entry = pollfd(fd: peers[index].rawValue, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, 10_000) > 0 else { return nil }
        return try queued(on: index)
    }

    /// A frame the switch already sent out of port `index`, nil if there is none (no waiting).
    func queued(on index: Int) throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 70_000)
        let count = try buffer.withUnsafeMutableBytes { try peers[index].read(into: $0) }
        return count.map { Array(buffer.prefix($0)) }
    }

    /// Waits (up to 10 s) until the switch core satisfies `condition`: for frames whose only effect is
    /// a counter, such as a drop.
    func waitForCore(_ condition: (SwitchCore) -> Bool) -> Bool {
        let deadline = SystemClock.monotonicNanoseconds() + 10_000_000_000
        while SystemClock.monotonicNanoseconds() < deadline {
            if daemon.withCore({ condition($0) }) { return true }
            usleep(200)
        }
        return daemon.withCore { condition($0) }
    }

    func counters(_ index: Int) -> PortCounters {
        daemon.withCore { $0.counters(of: PortID(index + 1)) } ?? PortCounters()
    }
}

/// Ethernet frames for the socket-pair tests.
enum TestFrames {
    static func mac(_ last: UInt8) -> [UInt8] { [0x02, 0, 0, 0, 0, last] }
    static let broadcast: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]

    /// A 60-byte frame (EtherType 0x88b5, local experimental) whose payload starts with `tag`.
    static func frame(to destination: [UInt8], from source: [UInt8], tag: UInt8) -> [UInt8] {
        destination + source + [0x88, 0xb5, tag] + [UInt8](repeating: tag, count: 43)
    }
}
