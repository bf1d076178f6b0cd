#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP client connection to a numeric IPv4 or IPv6 address (a link-local one with its
/// `%interface`), as the TCP continuity probe opens it towards a VM. Reads and writes wait at most a
/// timeout; a reset by the peer is an error whose `errno` is `ECONNRESET`.
public final class ClientConnection: @unchecked Sendable {
    public let descriptor: OwnedDescriptor
    public let address: String
    public let port: UInt16

    /// Connects to `address:port`, waiting at most `timeoutMilliseconds`.
    public init(address: String, port: UInt16, timeoutMilliseconds: Int32 = 5_000, receiveBuffer: Int32? = nil) throws(SystemError) {
        self.address = address
        self.port = port
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address, String(port), &hints, &list)
        guard status == 0, let info = list else {
            throw SystemError("getaddrinfo", "\(address) (a numeric IPv4 or IPv6 address, fe80::…%interface for link-local)", errno: EINVAL)
        }
        defer { freeaddrinfo(list) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", address) }
        descriptor = OwnedDescriptor(taking: fd)
        if let receiveBuffer {
            var value = receiveBuffer
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, socklen_t(MemoryLayout<Int32>.size))
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        try descriptor.setNonBlocking()
        if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { throw SystemError("connect", "\(address) port \(port)") }
            guard try wait(for: POLLOUT, milliseconds: timeoutMilliseconds) else {
                throw SystemError("connect", "\(address) port \(port)", errno: ETIMEDOUT)
            }
            var failure: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length)
            guard failure == 0 else { throw SystemError("connect", "\(address) port \(port)", errno: failure) }
        }
    }

    /// Sends every byte, waiting at most `timeoutMilliseconds` in total for room.
    public func send(_ bytes: [UInt8], timeoutMilliseconds: Int32 = 5_000) throws(SystemError) {
        var sent = 0
        while sent < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                Result { () throws(SystemError) -> Int? in try descriptor.write(UnsafeRawBufferPointer(rebasing: buffer[sent...])) }
            }
            if let count = try written.get() {
                sent += count
                continue
            }
            guard try wait(for: POLLOUT, milliseconds: timeoutMilliseconds) else {
                throw SystemError("send", "\(address) port \(port)", errno: ETIMEDOUT)
            }
        }
    }

    /// Reads what is there (at most `buffer.count`), waiting at most `timeoutMilliseconds` for
    /// something: the byte count, 0 when the peer closed, nil on timeout.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int32) throws(SystemError) -> Int? {
        if let count = try descriptor.read(into: buffer) { return count }
        guard try wait(for: POLLIN, milliseconds: timeoutMilliseconds) else { return nil }
        return try descriptor.read(into: buffer)
    }

    public func close() { descriptor.close() }

    private func wait(for events: Int32, milliseconds: Int32) throws(SystemError) -> Bool {
        var entry = pollfd(fd: descriptor.rawValue, events: Int16(events), revents: 0)
        let ready = retryingOnInterrupt { poll(&entry, 1, milliseconds) }
        guard ready >= 0 else { throw SystemError("poll", address) }
        return ready > 0
    }
}
