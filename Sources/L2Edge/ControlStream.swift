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
        let line: Data
        do { line = try ControlJSON.encoder.encode(call.request) } catch {
            throw ControlError(.badRequest, "could not encode \"\(call.request.command)\": \(error)")
        }
        let (body, connection, rest) = try exchangeKeepingConnection(path, line: line, command: call.request.command,
                                                                     timeoutSeconds: timeoutSeconds)
        let envelope: ControlEnvelope<Reply>
        do { envelope = try ControlJSON.decoder.decode(ControlEnvelope<Reply>.self, from: body) } catch {
            throw ControlError(.failed, "the daemon at \(path) answered \"\(call.request.command)\" with something unreadable: \(error)")
        }
        guard envelope.ok, let result = envelope.result else {
            throw ControlError(envelope.code ?? .failed, envelope.error ?? "the daemon refused \"\(call.request.command)\" without a reason")
        }
        var none = timeval(tv_sec: 0, tv_usec: 0)
        setsockopt(connection.rawValue, SOL_SOCKET, SO_RCVTIMEO, &none, socklen_t(MemoryLayout<timeval>.size))
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
