import Foundation
import L2Control
#if canImport(Glibc)
import Glibc
#endif

/// A `sockaddr_un` for a filesystem path (the caller has checked it fits: under 108 bytes).
public func unixSocketAddress(_ path: String) -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: path.utf8)
        raw[path.utf8.count] = 0
    }
    return address
}

/// Serves a daemon's control socket: a Unix stream socket bound to a path (reachable from every
/// namespace), mode 0600 so only root can connect, one JSON request per line, one JSON reply per
/// line. A malformed request gets an error reply; the daemon keeps running.
public final class ControlServer: @unchecked Sendable {
    public typealias Handler = @Sendable (ControlRequest) -> ControlReply

    public let path: String
    private let listener: OwnedDescriptor
    private let handler: Handler
    /// Wakes the accept loop on `stop()`, so it can wait for connections with no timeout.
    private let stopEvent: WakeDescriptor
    private let stopLock = NSLock()
    private var stopped = false

    public static let maximumRequestBytes = 64 * 1024

    public init(path: String, handler: @escaping Handler) throws(SystemError) {
        guard path.utf8.count < 108 else { throw SystemError("bind control socket", path, errno: ENAMETOOLONG) }
        stopEvent = try WakeDescriptor.event()
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket(AF_UNIX)") }
        listener = OwnedDescriptor(taking: fd)
        var address = unixSocketAddress(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw SystemError("bind control socket", path) }
        guard chmod(path, 0o600) == 0 else { throw SystemError("chmod 0600", path) }
        guard listen(fd, 16) == 0 else { throw SystemError("listen", path) }
        self.path = path
        self.handler = handler
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
            let client = accept(listener.rawValue, nil, nil)
            guard client >= 0 else { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            let connection = OwnedDescriptor(taking: client)
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
        let tooLong = ControlReply.failure("request longer than \(Self.maximumRequestBytes) bytes; send one JSON object per line")
        while true {
            let count: Int = chunk.withUnsafeMutableBytes { raw in
                guard let read = try? connection.read(into: raw) else { return 0 }
                return read
            }
            guard count > 0 else { return }
            pending.append(contentsOf: chunk[0..<count])
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                // A complete line can arrive in the same read that crosses the limit: refuse it too.
                guard newline <= Self.maximumRequestBytes else {
                    _ = send(tooLong)
                    return
                }
                let line = Data(pending[..<newline])
                pending.removeSubrange(...newline)
                guard send(answer(line)) else { return }
            }
            if pending.count > Self.maximumRequestBytes {
                _ = send(tooLong)
                return
            }
        }
    }

    private func answer(_ line: Data) -> ControlReply {
        let request: ControlRequest
        do {
            request = try ControlJSON.decoder.decode(ControlRequest.self, from: line)
        } catch {
            return .failure("malformed request: expected one JSON object like {\"command\":\"status\",\"arguments\":{}} per line")
        }
        return handler(request)
    }
}

/// Why a control request got no usable answer.
public struct ControlClientError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Sends one request to a daemon's control socket and decodes the reply.
public enum ControlClient {
    public static func call<Result: Decodable>(_ path: String, _ request: ControlRequest,
                                               as type: Result.Type = Result.self,
                                               timeoutSeconds: Int = 30) throws -> Result {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket(AF_UNIX)") }
        let connection = OwnedDescriptor(taking: fd)
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard path.utf8.count < 108 else { throw ControlClientError("control socket path too long: \(path)") }
        var address = unixSocketAddress(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            throw ControlClientError("cannot reach the daemon at \(path): \(SystemError("connect").description); is the lab up?")
        }
        var line = [UInt8](try ControlJSON.encoder.encode(request))
        line.append(UInt8(ascii: "\n"))
        try connection.writeAll(line)
        var reply = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !reply.contains(UInt8(ascii: "\n")) {
            let count = try chunk.withUnsafeMutableBytes { raw in try connection.read(into: raw) }
            guard let count, count > 0 else {
                throw ControlClientError("the daemon at \(path) closed the connection without answering \"\(request.command)\"")
            }
            reply.append(contentsOf: chunk[0..<count])
        }
        let body = Data(reply[..<reply.firstIndex(of: UInt8(ascii: "\n"))!])
        let envelope = try ControlJSON.decoder.decode(ControlEnvelope<Result>.self, from: body)
        guard envelope.ok, let result = envelope.result else {
            throw ControlClientError(envelope.error ?? "the daemon refused \"\(request.command)\" without a reason")
        }
        return result
    }
}
