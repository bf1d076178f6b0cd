import Foundation
import L2Edge

/// Sends one raw line to a Unix socket and returns the first line of the answer: for feeding a
/// daemon's control socket input that the real client would never send.
enum RawUnixSocket {
    static func exchange(path: String, line: String) throws -> String {
        let connection = try UnixSocket.connect(to: path)
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
