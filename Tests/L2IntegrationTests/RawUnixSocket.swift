import Foundation
import L2Edge

/// Sends one raw line to a Unix socket and returns the first line of the answer: for feeding a
/// daemon's control socket input that the real client would never send.
enum RawUnixSocket {
    static func exchange(path: String, line: String) throws -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        let connection = OwnedDescriptor(taking: fd)
        var address = unixSocketAddress(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw SystemError("connect", path) }
        try connection.writeAll(Array((line + "\n").utf8))
        var reply = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !reply.contains(UInt8(ascii: "\n")) {
            guard let count = try chunk.withUnsafeMutableBytes({ try connection.read(into: $0) }), count > 0 else { break }
            reply += chunk[0..<count]
        }
        return String(decoding: reply, as: UTF8.self)
    }
}
