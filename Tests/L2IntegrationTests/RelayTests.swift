import Foundation
import L2Control
import L2Daemons
import L2Edge
import Logging
import Testing

/// A machine relay in this process in front of two daemons' control sockets in a fresh folder (no
/// root needed): `switch-sw` answers `status` and `capture-flush` and streams on `capture-stream`;
/// `host-esx02` answers `power-off`.
final class RelayBench: @unchecked Sendable {
    static let lab = "xm-b"
    let folder: String
    let relay: MachineRelay
    private let servers: [any Stoppable]

    init() throws {
        folder = "/tmp/l2m-relay-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let status = SwitchStatus(name: "sw", pid: 4242, capture: "/captures/sw.pcapng", framesCaptured: 7, ports: [])
        let switchServer = try ControlServer<SwitchRequest>(path: "\(folder)/switch-sw.sock", handler: { request in
            switch request {
            case .status: .result(status)
            case .captureFlush: .result(CaptureFlushResult(frames: 7))
            default: .failure(ControlError(.refused, "not in this test"))
            }
        }, streamer: { request in
            guard case .captureStream = request else { return nil }
            return (.result(CaptureStreamStart(format: "pcapng", interfaces: ["p1"], port: nil)), { connection in
                // 100 KiB of stream, more than one read, then the end of the stream.
                _ = try? connection.writeAll((0..<100_000).map { UInt8(truncatingIfNeeded: $0) })
            })
        })
        let hostServer = try ControlServer<HostRequest>(path: "\(folder)/host-esx02.sock") { request in
            guard case .powerOff = request else { return .failure(ControlError(.refused, "not in this test")) }
            return .done
        }
        switchServer.start()
        hostServer.start()
        servers = [switchServer, hostServer]
        relay = try MachineRelay(lab: Self.lab, folder: folder, socket: "\(folder)/machine.sock", logger: Logger(label: "relay-test"))
        relay.start()
    }

    func route(_ target: String) -> ControlRoute { ControlRoute(socket: relay.socket, relayTarget: target) }

    func tearDown() {
        relay.stop()
        for server in servers { server.stop() }
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Connects to the relay, sends `bytes` (then, with `halfClose`, shuts the sending side) and
    /// returns everything it answers until it closes.
    func raw(_ bytes: [UInt8], halfClose: Bool = false) throws -> String {
        let connection = try UnixSocket.connect(to: relay.socket)
        UnixSocket.setReceiveTimeout(connection, seconds: 10)
        try connection.writeAll(bytes)
        if halfClose { shutdown(connection.rawValue, Int32(SHUT_WR)) }
        var answer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while let count = try chunk.withUnsafeMutableBytes({ try connection.read(into: $0) }), count > 0 {
            answer += chunk[0..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}

protocol Stoppable { func stop() }
extension ControlServer: Stoppable {}

@Suite("The machine relay in front of daemons' control sockets")
struct RelayTests {
    @Test func callsThroughTheRelayGetTheDaemonsAnswers() throws {
        let bench = try RelayBench()
        defer { bench.tearDown() }
        let relayed = try ControlClient.call(bench.route("switch-sw"), SwitchCall.status)
        let direct = try ControlClient.call("\(bench.folder)/switch-sw.sock", SwitchCall.status)
        #expect(relayed.name == direct.name && relayed.pid == direct.pid && relayed.capture == direct.capture && relayed.framesCaptured == 7)
        #expect(try ControlClient.call(bench.route("switch-sw"), SwitchCall.captureFlush) == CaptureFlushResult(frames: 7))
        _ = try ControlClient.call(bench.route("host-esx02"), HostCall.powerOff("web01"))
        // The daemon's own refusal comes back with its code.
        let refused = #expect(throws: ControlError.self) { try ControlClient.call(bench.route("switch-sw"), SwitchCall.counters) }
        #expect(refused == ControlError(.refused, "not in this test"))
    }

    @Test func aConnectionCarriesSeveralRequestsAndAHalfCloseStillGetsItsAnswer() throws {
        let bench = try RelayBench()
        defer { bench.tearDown() }
        let lines = "{\"relay\":\"switch-sw\"}\n{\"capture-flush\":{}}\n{\"nope\":{}}\n"
        let answer = try bench.raw(Array(lines.utf8), halfClose: true)
        #expect(answer.split(separator: "\n") == [
            "{\"ok\":true,\"result\":{\"frames\":7}}",
            "{\"code\":\"unknown-command\",\"error\":\"unknown command \\\"nope\\\"; the switch knows \(SwitchRequest.commands.joined(separator: ", "))\",\"ok\":false}",
        ])
    }

    @Test func aTargetWithNothingBehindItIsUnreachableAndTheRelayListsWhatItReaches() throws {
        let bench = try RelayBench()
        defer { bench.tearDown() }
        let error = #expect(throws: ControlError.self) { try ControlClient.call(bench.route("host-esx09"), HostCall.hostInfo) }
        #expect(error == ControlError(.unreachable, "no daemon host-esx09 behind the relay of lab xm-b; it relays host-esx02, switch-sw"))
    }

    @Test func aSocketNobodyAcceptsOnIsUnreachable() throws {
        let bench = try RelayBench()
        defer { bench.tearDown() }
        // A daemon that died without removing its socket.
        let stale = try UnixSocket.listen(at: "\(bench.folder)/switch-gone.sock")
        stale.close()
        let error = #expect(throws: ControlError.self) { try ControlClient.call(bench.route("switch-gone"), SwitchCall.status) }
        #expect(error == ControlError(.unreachable, "daemon switch-gone behind the relay of lab xm-b does not accept connections (its socket is there: has it stopped?); it relays host-esx02, switch-gone, switch-sw"))
    }

    @Test(arguments: ["host-../x", "host-../../../run/l2motion/other/host-esx01", "vm-web01", "machine", "host-"])
    func anInvalidTargetIsABadRequest(target: String) throws {
        let bench = try RelayBench()
        defer { bench.tearDown() }
        let error = #expect(throws: ControlError.self) { try ControlClient.call(bench.route(target), HostCall.hostInfo) }
        #expect(error?.code == .badRequest)
        #expect(error?.message.hasPrefix("relay of lab xm-b: relay target \"\(target)\" is not a daemon name") == true, "\(error?.message ?? "")")
        #expect(error?.message.hasSuffix("; it relays host-esx02, switch-sw") == true, "\(error?.message ?? "")")
    }

    @Test(arguments: ["{\"status\":{}}\n", "not json\n", "{\"relay\":\"switch-sw\",\"also\":1}\n"])
    func aMalformedFirstLineGetsOneErrorLineAndTheConnectionCloses(line: String) throws {
        let bench = try RelayBench()
        defer { bench.tearDown() }
        let answer = try bench.raw(Array(line.utf8))
        #expect(answer == "{\"code\":\"bad-request\",\"error\":\"relay of lab xm-b: the first line must name the daemon to relay to, like {\\\"relay\\\":\\\"host-esx02\\\"} or {\\\"relay\\\":\\\"switch-pswitch\\\"}; it relays host-esx02, switch-sw\",\"ok\":false}\n")
    }

    @Test func aFirstLineOverTheLimitIsRefused() throws {
        let bench = try RelayBench()
        defer { bench.tearDown() }
        let answer = try bench.raw(Array(("{\"relay\":\"" + String(repeating: "h", count: 300)).utf8))
        #expect(answer.hasPrefix("{\"code\":\"bad-request\",\"error\":\"relay of lab xm-b: first line longer than 256 bytes"), "\(answer)")
        #expect(answer.hasSuffix("\n") && answer.split(separator: "\n").count == 1)
    }

    @Test func aStreamComesThroughWhole() throws {
        let bench = try RelayBench()
        defer { bench.tearDown() }
        let stream = try ControlClient.openStream(bench.route("switch-sw"), SwitchCall.captureStream())
        #expect(stream.reply == CaptureStreamStart(format: "pcapng", interfaces: ["p1"], port: nil))
        var bytes = stream.firstBytes
        var chunk = [UInt8](repeating: 0, count: 65536)
        while let count = try chunk.withUnsafeMutableBytes({ try stream.connection.read(into: $0) }), count > 0 {
            bytes += chunk[0..<count]
        }
        #expect(bytes == (0..<100_000).map { UInt8(truncatingIfNeeded: $0) }, "every byte, in order, then the end of the stream")
    }

    @Test func theRelaySocketIsRootOnlyAndGoesWithTheRelay() throws {
        let bench = try RelayBench()
        defer { bench.tearDown() }
        var info = stat()
        try #require(stat(bench.relay.socket, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o7777 == 0o600)
        bench.relay.stop()
        #expect(!FileManager.default.fileExists(atPath: bench.relay.socket))
        let error = #expect(throws: ControlError.self) { try ControlClient.call(bench.route("switch-sw"), SwitchCall.status) }
        #expect(error?.code == .unreachable)
        #expect(error?.message.hasPrefix("cannot reach the machine relay at \(bench.relay.socket) (for switch-sw): connect: No such file or directory") == true,
                "\(error?.message ?? "")")
    }

    @Test func aSocketPathTooLongForUnixIsRefused() {
        let error = #expect(throws: SystemError.self) {
            try MachineRelay(lab: "x", folder: "/tmp", socket: "/tmp/" + String(repeating: "m", count: 103), logger: Logger(label: "t"))
        }
        #expect(error?.errno == ENAMETOOLONG)
    }
}
