#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, on what, and the errno it returned, printed with strerror.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public let call: String
    public let subject: String
    public let errno: Int32

    public init(_ call: String, _ subject: String = "", errno: Int32 = Glibc.errno) {
        self.call = call
        self.subject = subject
        self.errno = errno
    }

    public var description: String {
        let reason = String(cString: strerror(errno))
        return subject.isEmpty ? "\(call): \(reason)" : "\(call) \(subject): \(reason)"
    }
}

/// Retries a system call while it fails with EINTR: the one place that loop lives.
@inlinable @inline(__always)
func retryingOnInterrupt<T: BinaryInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result == -1 && errno == EINTR { continue }
        return result
    }
}

extension String {
    /// Decodes a NUL-terminated C character buffer.
    init(cBuffer: [CChar]) {
        self.init(decoding: cBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
