import Foundation
import L2Edge
import Testing

/// The QMP client against a scripted monitor on a socketpair (no QEMU, no root): the handshake,
/// events skipped and kept, QEMU's errors and a failed migration reported with QEMU's own text.
@Suite struct QMPClientTests {
    /// Plays QEMU's side: the greeting, then for each request the scripted lines, `ID` replaced by
    /// the request's id (no lines: no answer), then hangs up. Records the requests it got.
    final class ScriptedMonitor: @unchecked Sendable {
        let client: OwnedDescriptor
        private let server: OwnedDescriptor
        private let lock = NSLock()
        private var seen: [[String: Any]] = []
        private let done = DispatchSemaphore(value: 0)

        init(replies: [[String]]) throws {
            var pair: [Int32] = [0, 0]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else { throw SystemError("socketpair") }
            client = OwnedDescriptor(taking: pair[0])
            server = OwnedDescriptor(taking: pair[1])
            let thread = Thread { [self] in
                defer {
                    server.close()
                    done.signal()
                }
                try? server.writeAll(Array(#"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}"#.utf8 + [13, 10]))
                var pending: [UInt8] = []
                for lines in replies {
                    guard let request = readLine(&pending) else { return }
                    lock.withLock { seen.append(request) }
                    let id = request["id"].map { "\($0)" } ?? "null"
                    for line in lines {
                        try? server.writeAll(Array(line.replacingOccurrences(of: "ID", with: id).utf8 + [13, 10]))
                    }
                }
            }
            thread.start()
        }

        var requests: [[String: Any]] {
            _ = done.wait(timeout: .now() + 5)
            return lock.withLock { seen }
        }

        private func readLine(_ pending: inout [UInt8]) -> [String: Any]? {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while !pending.contains(10) {
                guard let count = try? chunk.withUnsafeMutableBytes({ try server.read(into: $0) }), count > 0 else { return nil }
                pending += chunk[..<count]
            }
            let newline = pending.firstIndex(of: 10)!
            defer { pending.removeSubrange(...newline) }
            return try? JSONSerialization.jsonObject(with: Data(pending[..<newline])) as? [String: Any]
        }
    }

    @Test("greeting and qmp_capabilities, then a command's return value; events in between are kept, not taken as replies")
    func handshakeAndEvents() throws {
        let monitor = try ScriptedMonitor(replies: [
            [#"{"return": {}, "id": ID}"#],
            [#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESUME"}"#,
             #"{"return": {"status": "running", "singlestep": false, "running": true}, "id": ID}"#],
        ])
        let client = try QMPClient(descriptor: monitor.client, name: "scripted", replyTimeout: 5)
        #expect(client.version == "7.2.22")
        #expect(try client.status() == "running")
        #expect(client.events.map(\.name) == ["RESUME"])
        let commands = monitor.requests.map { $0["execute"] as? String }
        #expect(commands == ["qmp_capabilities", "query-status"])
    }

    @Test("a refused command throws QEMU's error class and text")
    func commandError() throws {
        let monitor = try ScriptedMonitor(replies: [
            [#"{"return": {}, "id": ID}"#],
            [#"{"error": {"class": "CommandNotFound", "desc": "The command frobnicate has not been found"}, "id": ID}"#],
        ])
        let client = try QMPClient(descriptor: monitor.client, name: "scripted", replyTimeout: 5)
        #expect {
            try client.execute("frobnicate")
        } throws: { error in
            "\(error)" == "QMP frobnicate failed: CommandNotFound: The command frobnicate has not been found"
        }
    }

    @Test("migrate polls query-migrate and throws QEMU's error-desc when the migration fails")
    func failedMigration() throws {
        let monitor = try ScriptedMonitor(replies: [
            [#"{"return": {}, "id": ID}"#],
            [#"{"return": {}, "id": ID}"#],
            [#"{"return": {"status": "active", "total-time": 5}, "id": ID}"#],
            [#"{"return": {"status": "failed", "error-desc": "Unable to write to socket: Broken pipe"}, "id": ID}"#],
        ])
        let client = try QMPClient(descriptor: monitor.client, name: "scripted", replyTimeout: 5)
        #expect {
            try client.migrate(to: "unix:/nowhere", timeout: 5)
        } throws: { error in
            "\(error)" == "migration to unix:/nowhere failed: Unable to write to socket: Broken pipe"
        }
        let requests = monitor.requests
        #expect(requests.map { $0["execute"] as? String } == ["qmp_capabilities", "migrate", "query-migrate", "query-migrate"])
        #expect((requests[1]["arguments"] as? [String: Any])?["uri"] as? String == "unix:/nowhere")
    }

    @Test("a completed migration returns QEMU's timings")
    func completedMigration() throws {
        let monitor = try ScriptedMonitor(replies: [
            [#"{"return": {}, "id": ID}"#],
            [#"{"return": {}, "id": ID}"#],
            [#"{"return": {"status": "completed", "total-time": 454, "downtime": 2, "setup-time": 1, "ram": {"transferred": 64043446}}, "id": ID}"#],
        ])
        let client = try QMPClient(descriptor: monitor.client, name: "scripted", replyTimeout: 5)
        let summary = try client.migrate(to: "unix:/dst", timeout: 5)
        #expect(summary.totalTimeMs == 454)
        #expect(summary.downtimeMs == 2)
        #expect(summary.setupTimeMs == 1)
        #expect(summary.transferredBytes == 64_043_446)
    }

    @Test("a monitor that hangs up is reported, not waited on")
    func hangUp() throws {
        let monitor = try ScriptedMonitor(replies: [[#"{"return": {}, "id": ID}"#], []])
        let client = try QMPClient(descriptor: monitor.client, name: "scripted", replyTimeout: 5)
        #expect {
            try client.status()
        } throws: { error in
            "\(error)".contains("closed the connection")
        }
    }

    @Test("the ready line is found among kernel messages and read as address and MAC")
    func readyLine() {
        let serial = "[    1.9] random: crng init done\r\nl2m-guest ready 10.250.7.2/24 52:54:00:fa:07:02\r\n"
        #expect(GuestReadyLine.find(in: serial) == GuestReadyLine(address: "10.250.7.2/24", mac: "52:54:00:fa:07:02"))
        #expect(GuestReadyLine.find(in: "l2m-guest error: no eth0\n") == nil)
    }
}
