import Foundation
import L2Control
#if canImport(Glibc)
import Glibc
#endif

/// Where a capture ring's writer thread puts full blocks of encoded records: a file, or memory in
/// tests. Called from the writer thread only, once per block (megabytes), never per frame.
protocol CaptureSink: AnyObject, Sendable {
    /// Writes all of `bytes`; returns 0, or the errno that stopped it.
    func write(_ bytes: UnsafeRawBufferPointer) -> Int32
    /// Called once, after the last write.
    func close()
}

/// A capture file written with plain `write(2)` (blocks are page-sized multiples, so no stdio).
final class FileCaptureSink: CaptureSink, @unchecked Sendable {
    let path: String
    private let descriptor: Int32

    /// Creates (truncates) `path`.
    init(path: String) throws(ConfigurationError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ConfigurationError("cannot create capture file \(path): \(String(cString: strerror(errno)))")
        }
        self.path = path
        descriptor = fd
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += written
        }
        return 0
    }

    func close() { _ = Glibc.close(descriptor) }
}
