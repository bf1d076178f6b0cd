#if canImport(Glibc)
import Glibc
#endif

/// A file descriptor that this object owns and closes exactly once, on `close()` or deinit.
///
/// Reads and writes retry on EINTR; would-block is reported as `nil` rather than an error so an
/// event loop can drain a descriptor until it is empty.
public final class OwnedDescriptor: @unchecked Sendable {
    /// Read on every `read`/`write` of a forwarding loop; only `close()` changes it. Unchecked: the
    /// runtime's exclusivity check would cost a thread-local lookup per frame (about 1 % of a switch's
    /// CPU in a ping test), and closing a descriptor another thread still uses is wrong either way.
    @exclusivity(unchecked) public private(set) var rawValue: Int32

    public init(taking rawValue: Int32) { self.rawValue = rawValue }

    deinit { close() }

    public var isOpen: Bool { rawValue >= 0 }

    public func close() {
        guard rawValue >= 0 else { return }
        _ = Glibc.close(rawValue)
        rawValue = -1
    }

    public func setNonBlocking(_ on: Bool = true) throws(SystemError) {
        let flags = fcntl(rawValue, F_GETFL)
        guard flags >= 0 else { throw SystemError("fcntl(F_GETFL)") }
        let wanted = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        guard fcntl(rawValue, F_SETFL, wanted) == 0 else { throw SystemError("fcntl(F_SETFL)") }
    }

    /// Reads once into `buffer`. Returns the byte count, `nil` if it would block, 0 at end of file.
    @inlinable @inline(__always)
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int? {
        try Self.read(rawValue, into: buffer)
    }

    /// Writes once. Returns the byte count, or `nil` if it would block (or the queue is full).
    @inlinable @inline(__always)
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int? {
        try Self.write(rawValue, bytes)
    }

    /// `read(into:)` on a raw descriptor the caller keeps open: for a forwarding loop that would
    /// otherwise retain and release the owning object around every frame.
    @inlinable @inline(__always)
    public static func read(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int? {
        let count = retryingOnInterrupt { Glibc.read(descriptor, buffer.baseAddress, buffer.count) }
        if count >= 0 { return count }
        if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
        throw SystemError("read")
    }

    /// `write(_:)` on a raw descriptor the caller keeps open.
    @inlinable @inline(__always)
    public static func write(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int? {
        let count = retryingOnInterrupt { Glibc.write(descriptor, bytes.baseAddress, bytes.count) }
        if count >= 0 { return count }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS { return nil }
        throw SystemError("write")
    }

    /// Writes every byte, waiting with poll while the descriptor would block.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            if let written = try write(rest) {
                offset += written
            } else {
                var entry = pollfd(fd: rawValue, events: Int16(POLLOUT), revents: 0)
                _ = retryingOnInterrupt { poll(&entry, 1, 1000) }
            }
        }
    }

    public func writeAll(_ bytes: [UInt8]) throws(SystemError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(SystemError) in try writeAll(raw) } }.get()
    }
}
