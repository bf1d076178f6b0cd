import Foundation
import L2Edge

/// A client for QEMU's QMP monitor (one JSON object per line) over its Unix socket: reads the
/// greeting, enters command mode with `qmp_capabilities`, then runs commands one at a time and
/// returns their `return` value. Asynchronous events that arrive in between are kept in `events`.
/// Calls are serialized by a lock, so tests may share one client.
final class QMPClient: @unchecked Sendable {
    /// What the greeting said QEMU is, e.g. "7.2.22".
    let version: String
    private let connection: OwnedDescriptor
    private let name: String
    private let replyTimeout: Double
    private let lock = NSLock()
    private var buffer: [UInt8] = []
    private var nextID = 1
    private var receivedEvents: [QMPEvent] = []

    /// Connects to the monitor socket at `path`, retrying while it does not exist or refuses (QEMU
    /// still starting) for up to `connectTimeout` seconds.
    static func connect(path: String, connectTimeout: Double = 30, replyTimeout: Double = 30) throws -> QMPClient {
        guard path.utf8.count < 108 else { throw QMPError.protocolError("QMP socket path \(path) is longer than 107 bytes; use a shorter directory") }
        let deadline = Date().addingTimeInterval(connectTimeout)
        var lastError = "no attempt"
        while true {
            let code: Int32
            do {
                return try QMPClient(descriptor: try UnixSocket.connect(to: path), name: path, replyTimeout: replyTimeout)
            } catch let error as SystemError {
                code = error.errno
                lastError = String(cString: strerror(code))
            }
            guard code == ENOENT || code == ECONNREFUSED || code == EAGAIN, Date() < deadline else {
                throw QMPError.protocolError("cannot connect to QMP socket \(path) (\(lastError)); is QEMU running with -qmp unix:\(path),server=on,wait=off?")
            }
            usleep(20_000)
        }
    }

    /// Speaks QMP over an already connected stream (a test can pass one end of a socketpair).
    init(descriptor: OwnedDescriptor, name: String, replyTimeout: Double = 30) throws {
        connection = descriptor
        self.name = name
        self.replyTimeout = replyTimeout
        var buffer: [UInt8] = []
        let greeting = try Self.readMessage(connection, &buffer, deadline: Date().addingTimeInterval(replyTimeout), name: name)
        self.buffer = buffer
        guard let qmp = greeting["QMP"] as? [String: Any] else {
            throw QMPError.protocolError("\(name) did not greet with a QMP object: \(Self.text(greeting))")
        }
        let qemu = (qmp["version"] as? [String: Any])?["qemu"] as? [String: Any]
        version = ["major", "minor", "micro"].map { String(describing: qemu?[$0] ?? "?") }.joined(separator: ".")
        _ = try execute("qmp_capabilities")
    }

    /// The events QEMU sent so far (STOP, RESUME, MIGRATION, ...), oldest first.
    var events: [QMPEvent] { lock.withLock { receivedEvents } }

    /// Runs `command` with `arguments` and returns its `return` value (often an empty object).
    /// Throws `QMPError.commandFailed` with QEMU's error class and text if QEMU refused it.
    @discardableResult
    func execute(_ command: String, _ arguments: [String: Any] = [:]) throws -> Any {
        try lock.withLock {
            let id = nextID
            nextID += 1
            var message: [String: Any] = ["execute": command, "id": id]
            if !arguments.isEmpty { message["arguments"] = arguments }
            var line = try JSONSerialization.data(withJSONObject: message)
            line.append(UInt8(ascii: "\n"))
            try send(line)
            let deadline = Date().addingTimeInterval(replyTimeout)
            while true {
                let reply = try Self.readMessage(connection, &buffer, deadline: deadline, name: name, waitingFor: command)
                if let event = reply["event"] as? String {
                    receivedEvents.append(QMPEvent(name: event, data: reply["data"] as? [String: Any] ?? [:]))
                    continue
                }
                guard (reply["id"] as? Int) == id else { continue }
                if let error = reply["error"] as? [String: Any] {
                    throw QMPError.commandFailed(command: command, errorClass: error["class"] as? String ?? "?",
                                                 description: error["desc"] as? String ?? Self.text(error))
                }
                guard let result = reply["return"] else {
                    throw QMPError.protocolError("\(name) answered \(command) with neither return nor error: \(Self.text(reply))")
                }
                return result
            }
        }
    }

    /// The VM's run state from `query-status`: "running", "paused", "inmigrate", "postmigrate", ...
    func status() throws -> String {
        let result = try execute("query-status")
        guard let status = (result as? [String: Any])?["status"] as? String else {
            throw QMPError.protocolError("query-status on \(name) returned no status: \(Self.text(result))")
        }
        return status
    }

    /// Polls `query-status` until it is `wanted`, up to `timeout` seconds.
    func waitForStatus(_ wanted: String, timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var current = try status()
        while current != wanted {
            guard Date() < deadline else {
                throw QMPError.timedOut("\(name) is still '\(current)' after \(timeout) s, waiting for '\(wanted)'")
            }
            usleep(20_000)
            current = try status()
        }
    }

    /// `query-migrate`'s object (empty before any migration).
    func queryMigrate() throws -> [String: Any] {
        try execute("query-migrate") as? [String: Any] ?? [:]
    }

    /// Live-migrates this VM to `uri` (e.g. "unix:/path", where a destination QEMU runs with
    /// `-incoming unix:/path`) and polls `query-migrate` until it completes. Throws with QEMU's
    /// error text if it failed or was cancelled, and with the last status after `timeout` seconds.
    func migrate(to uri: String, timeout: Double = 120) throws -> MigrationSummary {
        try execute("migrate", ["uri": uri])
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let info = try queryMigrate()
            let status = info["status"] as? String ?? "none"
            switch status {
            case "completed":
                return MigrationSummary(info)
            case "failed", "cancelled":
                let reason = info["error-desc"] as? String ?? "QEMU gave no error-desc"
                throw QMPError.migrationFailed(uri: uri, status: status, reason: reason)
            default:
                guard Date() < deadline else {
                    throw QMPError.timedOut("migration of \(name) to \(uri) still '\(status)' after \(timeout) s: \(Self.text(info))")
                }
                usleep(10_000)
            }
        }
    }

    /// Starts listening for an incoming migration on `uri`: for a QEMU started with `-incoming defer`.
    func migrateIncoming(_ uri: String) throws {
        try execute("migrate-incoming", ["uri": uri])
    }

    // MARK: reading and writing

    /// Writes the whole line with MSG_NOSIGNAL: a QEMU that exited must fail the call, not SIGPIPE the tests.
    private func send(_ data: Data) throws {
        var offset = 0
        while offset < data.count {
            let written = data.withUnsafeBytes { raw in
                Glibc.send(connection.rawValue, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw QMPError.protocolError("cannot write to \(name): \(String(cString: strerror(errno))) (did QEMU exit?)")
            }
            offset += written
        }
    }

    /// Reads one newline-terminated JSON object, waiting with poll until `deadline`.
    private static func readMessage(_ connection: OwnedDescriptor, _ buffer: inout [UInt8], deadline: Date,
                                    name: String, waitingFor command: String? = nil) throws -> [String: Any] {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                if line.allSatisfy({ $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: " ") }) { continue }
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                    throw QMPError.protocolError("\(name) sent a line that is not a JSON object: \(String(decoding: line, as: UTF8.self))")
                }
                return object
            }
            let remaining = deadline.timeIntervalSinceNow
            let waiting = command.map { "the reply to \($0)" } ?? "the greeting"
            guard remaining > 0 else { throw QMPError.timedOut("no \(waiting) from \(name) in time") }
            var entry = pollfd(fd: connection.rawValue, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, Int32(min(remaining * 1000, 60_000)) + 1)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = try chunk.withUnsafeMutableBytes { try connection.read(into: $0) }
            guard let count else { continue }
            guard count > 0 else { throw QMPError.protocolError("\(name) closed the connection while we waited for \(waiting) (did QEMU exit?)") }
            buffer += chunk[..<count]
        }
    }

    private static func text(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject(value),
              let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// An asynchronous QMP event (e.g. `STOP`, `RESUME`, `MIGRATION` with `data.status`).
struct QMPEvent: @unchecked Sendable {
    let name: String
    let data: [String: Any]
}

/// What `query-migrate` reported for a completed migration.
struct MigrationSummary: Sendable, CustomStringConvertible {
    /// From the `migrate` command to completion, as QEMU measured it.
    let totalTimeMs: Int
    /// How long the VM was stopped (the stun), as QEMU measured it.
    let downtimeMs: Int
    let transferredBytes: Int
    let setupTimeMs: Int

    init(_ info: [String: Any]) {
        totalTimeMs = info["total-time"] as? Int ?? -1
        downtimeMs = info["downtime"] as? Int ?? -1
        setupTimeMs = info["setup-time"] as? Int ?? -1
        transferredBytes = (info["ram"] as? [String: Any])?["transferred"] as? Int ?? -1
    }

    var description: String {
        "total \(totalTimeMs) ms, downtime \(downtimeMs) ms, setup \(setupTimeMs) ms, \(transferredBytes / 1024) KiB sent"
    }
}

/// A QMP failure: QEMU refused a command, the migration failed, QEMU did not answer, or it spoke
/// something that is not QMP.
enum QMPError: Error, CustomStringConvertible {
    case commandFailed(command: String, errorClass: String, description: String)
    case migrationFailed(uri: String, status: String, reason: String)
    case timedOut(String)
    case protocolError(String)

    var description: String {
        switch self {
        case let .commandFailed(command, errorClass, description): "QMP \(command) failed: \(errorClass): \(description)"
        case let .migrationFailed(uri, status, reason): "migration to \(uri) \(status): \(reason)"
        case let .timedOut(text): "QMP timed out: \(text)"
        case let .protocolError(text): text
        }
    }
}
