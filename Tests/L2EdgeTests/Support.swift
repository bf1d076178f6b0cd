import Foundation
import Testing

/// A fresh directory under /tmp, removed when `body` returns. Short, so Unix socket paths fit in 108 bytes.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = "/tmp/l2m-test-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// Golden frames, written out byte by byte.
enum Frames {
    /// ARP who-has 10.10.0.10 tell 10.10.0.100, padded to the 60-byte minimum.
    static let arpRequest: [UInt8] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x64, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x64, 10, 10, 0, 100,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 10, 10, 0, 10,
    ] + [UInt8](repeating: 0, count: 18)

    /// ICMP echo request 10.10.0.100 > 10.10.0.10, followed by `payload` bytes of data.
    static func icmpEcho(payload: Int = 56) -> [UInt8] {
        let ipLength = 20 + 8 + payload
        var frame: [UInt8] = [
            0x00, 0x50, 0x56, 0x00, 0x00, 0x10, 0x02, 0x00, 0x00, 0x00, 0x00, 0x64, 0x08, 0x00,
            0x45, 0x00, UInt8(ipLength >> 8), UInt8(ipLength & 0xff), 0x12, 0x34, 0x40, 0x00, 64, 1, 0x00, 0x00,
            10, 10, 0, 100, 10, 10, 0, 10,
            8, 0, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x01,
        ]
        frame += (0..<payload).map { UInt8(truncatingIfNeeded: $0) }
        return frame
    }
}
