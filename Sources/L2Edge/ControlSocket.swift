import Foundation
import L2Control
#if canImport(Glibc)
import Glibc
#endif

/// Serves a daemon's control socket: a Unix stream socket bound to a path (reachable from every
/// namespace), mode 0600 so only root can connect, one JSON request per line (`Request`, decoded and
/// range-checked here), one JSON reply per line. A malformed or unknown request gets an error reply
/// with its code; the daemon keeps running.
public final class ControlServer<Request: ControlRequestKind>: @unchecked Sendable {
    public typealias Handler = @Sendable (Request) -> ControlReply
    /// For a request that opens a stream: the reply line, then (if it succeeded) what writes the
    /// stream to the connection, on the connection's thread, until it returns. Nil: not a stream.
    public typealias Streamer = @Sendable (Request) -> (reply: ControlReply, stream: (@Sendable (OwnedDescriptor) -> Void)?)?

    public let path: String
    private let listener: OwnedDescriptor
    private let handler: Handler
    private let streamer: Streamer?
    /// Wakes the accept loop on `stop()`, so it can wait for connections with no timeout.
    private let stopEvent: WakeDescriptor
    private let stopLock = NSLock()
    private var stopped = false

    public init(path: String, handler: @escaping Handler, streamer: Streamer? = nil) throws(SystemError) {
        guard path.utf8.count < 108 else { throw SystemError("bind control socket", path, errno: ENAMETOOLONG) }
        stopEvent = try WakeDescriptor.event()
        listener = try UnixSocket.listen(at: path)
        self.path = path
        self.handler = handler
        self.streamer = streamer
    }

    /// Accepts connections on a background thread until `stop()`.
    public func start() {
        NamedThread.start("control") { [self] in acceptLoop() }
    }

    public func stop() {
        stopLock.withLock { stopped = true }
        stopEvent.signal()
        unlink(path)
    }

    private var isStopped: Bool { stopLock.withLock { stopped } }

    private func acceptLoop() {
        while !isStopped {
            guard stopEvent.wait(orReadable: listener.rawValue) else { continue }
            guard let connection = UnixSocket.accept(on: listener) else { continue }
            NamedThread.start("control-conn") { [self] in serve(connection) }
        }
        listener.close()
    }

    private func serve(_ connection: OwnedDescriptor) {
        var pending = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        func send(_ reply: ControlReply) -> Bool {
            var out = [UInt8](reply.line)
            out.append(UInt8(ascii: "\n"))
            return (try? connection.writeAll(out)) != nil
        }
        let limit = ControlLine.maximumRequestBytes
        let tooLong = ControlReply.failure(ControlError(.badRequest, "request longer than \(limit) bytes; send one JSON object per line"))
        while true {
            let count: Int = chunk.withUnsafeMutableBytes { raw in
                guard let read = try? connection.read(into: raw) else { return 0 }
                return read
            }
            guard count > 0 else { return }
            pending.append(contentsOf: chunk[0..<count])
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                // A complete line can arrive in the same read that crosses the limit: refuse it too.
                guard newline <= limit else {
                    _ = send(tooLong)
                    return
                }
                let line = Data(pending[..<newline])
                pending.removeSubrange(...newline)
                if case let .success(request) = ControlLine.decode(Request.self, from: line), let opened = streamer?(request) {
                    // The connection now carries the stream; nothing more is read from it as requests.
                    guard send(opened.reply), let stream = opened.stream else { return }
                    stream(connection)
                    return
                }
                guard send(answer(line)) else { return }
            }
            if pending.count > limit {
                _ = send(tooLong)
                return
            }
        }
    }

    private func answer(_ line: Data) -> ControlReply {
        switch ControlLine.decode(Request.self, from: line) {
        case let .success(request): handler(request)
        case let .failure(error): .failure(error)
        }
    }
}

/// Sends one typed request to a daemon's control socket, directly or through a machine relay
/// (`ControlRoute`), and decodes its typed reply. Every failure is a `ControlError` with a code:
/// `unreachable` (nothing listens), `permission-denied` (not root), `no-answer` (timeout or closed),
/// or the daemon's (or the relay's) own code.
public enum ControlClient {
    public static func call<Request, Reply>(_ path: String, _ call: ControlCall<Request, Reply>,
                                            timeoutSeconds: Int = 30) throws(ControlError) -> Reply {
        try self.call(.direct(path), call, timeoutSeconds: timeoutSeconds)
    }

    public static func call<Request, Reply>(_ route: ControlRoute, _ call: ControlCall<Request, Reply>,
                                            timeoutSeconds: Int = 30) throws(ControlError) -> Reply {
        let body = try exchange(route, line: try requestLine(call.request), command: call.request.command, timeoutSeconds: timeoutSeconds)
        return try decodeReply(body, to: call, from: route)
    }

    /// Sends one line and returns the answer line (without its newline).
    public static func exchange(_ path: String, line: Data, command: String, timeoutSeconds: Int = 30) throws(ControlError) -> Data {
        try exchange(.direct(path), line: line, command: command, timeoutSeconds: timeoutSeconds)
    }

    /// Sends one line along `route` and returns the answer line (without its newline).
    public static func exchange(_ route: ControlRoute, line: Data, command: String, timeoutSeconds: Int = 30) throws(ControlError) -> Data {
        try exchangeKeepingConnection(route, line: line, command: command, timeoutSeconds: timeoutSeconds).reply
    }

    static func requestLine<Request: ControlRequestKind>(_ request: Request) throws(ControlError) -> Data {
        do {
            return try ControlJSON.encoder.encode(request)
        } catch {
            throw ControlError(.badRequest, "could not encode \"\(request.command)\": \(error)")
        }
    }

    /// The typed result of an answer line, or the daemon's refusal as its `ControlError`.
    static func decodeReply<Request, Reply>(_ body: Data, to call: ControlCall<Request, Reply>, from route: ControlRoute) throws(ControlError) -> Reply {
        let envelope: ControlEnvelope<Reply>
        do {
            envelope = try ControlJSON.decoder.decode(ControlEnvelope<Reply>.self, from: body)
        } catch {
            throw ControlError(.failed, "the daemon at \(route) answered \"\(call.request.command)\" with something unreadable: \(error)")
        }
        guard envelope.ok, let result = envelope.result else {
            throw ControlError(envelope.code ?? .failed, envelope.error ?? "the daemon refused \"\(call.request.command)\" without a reason")
        }
        return result
    }

    /// `exchange`, also returning the connection and any bytes that came after the answer line.
    /// Through a relay the relay line goes first, in the same write as the request.
    static func exchangeKeepingConnection(_ route: ControlRoute, line: Data, command: String, timeoutSeconds: Int)
        throws(ControlError) -> (reply: Data, connection: OwnedDescriptor, rest: [UInt8])
    {
        let connection: OwnedDescriptor
        do {
            connection = try UnixSocket.connect(to: route.socket)
        } catch {
            if error.errno == ENAMETOOLONG { throw ControlError(.unreachable, "control socket path too long: \(route.socket)") }
            if error.errno == EACCES || error.errno == EPERM { throw ControlError.permissionDenied }
            let reason = SystemError("connect", errno: error.errno).description
            if let target = route.relayTarget {
                throw ControlError(.unreachable, "cannot reach the machine relay at \(route.socket) (for \(target)): \(reason); is its machine-relay running and the socket forwarded?")
            }
            throw ControlError(.unreachable, "cannot reach the daemon at \(route.socket): \(reason); is the lab up?")
        }
        UnixSocket.setReceiveTimeout(connection, seconds: timeoutSeconds)
        var out = route.relayTarget.map { RelayLine.encode(target: $0) } ?? []
        out.append(contentsOf: line)
        out.append(UInt8(ascii: "\n"))
        do { try connection.writeAll(out) } catch {
            throw ControlError(.noAnswer, "the daemon at \(route) closed the connection before \"\(command)\" was sent: \(error)")
        }
        var reply = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !reply.contains(UInt8(ascii: "\n")) {
            let count: Int?
            do { count = try chunk.withUnsafeMutableBytes { raw in try connection.read(into: raw) } } catch {
                throw ControlError(.noAnswer, "no answer to \"\(command)\" from the daemon at \(route) within \(timeoutSeconds) s: \(error)")
            }
            guard let count else {
                throw ControlError(.noAnswer, "no answer to \"\(command)\" from the daemon at \(route) within \(timeoutSeconds) s")
            }
            guard count > 0 else {
                throw ControlError(.noAnswer, "the daemon at \(route) closed the connection without answering \"\(command)\"")
            }
            reply.append(contentsOf: chunk[0..<count])
        }
        let newline = reply.firstIndex(of: UInt8(ascii: "\n"))!
        return (Data(reply[..<newline]), connection, Array(reply[(newline + 1)...]))
    }
}
