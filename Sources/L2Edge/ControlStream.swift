import Foundation
import L2Control
#if canImport(Glibc)
import Glibc
#endif

/// A stream a daemon opened on its control connection (`capture-stream`): its typed first reply, the
/// connection the stream's bytes arrive on (no read timeout: a stream may be quiet), and the bytes
/// that arrived with the reply.
public struct ControlStream<Reply: Sendable>: Sendable {
    public let reply: Reply
    public let connection: OwnedDescriptor
    public let firstBytes: [UInt8]
}

extension ControlClient {
    /// Sends a request that opens a stream and returns the stream once the daemon accepted it; a
    /// refusal is the daemon's `ControlError`, as for `call`.
    public static func openStream<Request, Reply>(_ path: String, _ call: ControlCall<Request, Reply>,
                                                  timeoutSeconds: Int = 30) throws(ControlError) -> ControlStream<Reply> {
        try openStream(.direct(path), call, timeoutSeconds: timeoutSeconds)
    }

    /// `openStream` along a route: through a machine relay the stream's bytes come through it too.
    public static func openStream<Request, Reply>(_ route: ControlRoute, _ call: ControlCall<Request, Reply>,
                                                  timeoutSeconds: Int = 30) throws(ControlError) -> ControlStream<Reply> {
        let (body, connection, rest) = try exchangeKeepingConnection(route, line: try requestLine(call.request), command: call.request.command,
                                                                     timeoutSeconds: timeoutSeconds)
        let result = try decodeReply(body, to: call, from: route)
        UnixSocket.setReceiveTimeout(connection, seconds: 0)
        return ControlStream(reply: result, connection: connection, firstBytes: rest)
    }
}

extension ControlStream {
    /// Copies the stream (the bytes that came with the reply first) to `output` until the daemon ends
    /// it. Returns normally when the daemon closes the stream or `output`'s reader goes away (EPIPE:
    /// the caller ignores SIGPIPE); any other failure is thrown.
    public func copy(to output: OwnedDescriptor) throws(SystemError) {
        do throws(SystemError) {
            if !firstBytes.isEmpty {
                try firstBytes.withUnsafeBytes { bytes in Result { () throws(SystemError) in try output.writeAll(bytes) } }.get()
            }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
            defer { buffer.deallocate() }
            while let count = try connection.read(into: buffer), count > 0 {
                try output.writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
        } catch where error.errno == EPIPE {
            return
        }
    }
}
