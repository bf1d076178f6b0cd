import CTap
#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection or listener on the kernel's stack (the vMotion stream uses the kernel's TCP,
/// so the kernel does the reliability and the frames on the vMotion segment are real TCP).
public final class TCPSocket: Sendable {
    public let descriptor: OwnedDescriptor

    init(taking fd: Int32) { descriptor = OwnedDescriptor(taking: fd) }

    private static func address(_ ip: UInt32, _ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = in_addr(s_addr: ip.bigEndian)
        return address
    }

    private static func newSocket() throws(SystemError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket(AF_INET)") }
        return fd
    }

    /// Listens on `ip:port` (host-order IPv4). The listener is non-blocking (see `accept()`).
    public static func listen(ip: UInt32, port: UInt16, backlog: Int32 = 16, receiveBuffer: Int32? = nil) throws(SystemError) -> TCPSocket {
        let socket = TCPSocket(taking: try newSocket())
        if let receiveBuffer { socket.setBuffer(SO_RCVBUF, receiveBuffer) }
        var one: Int32 = 1
        setsockopt(socket.descriptor.rawValue, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.address(ip, port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket.descriptor.rawValue, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw SystemError("bind", "\(ipText(ip)):\(port)") }
        guard Glibc.listen(socket.descriptor.rawValue, backlog) == 0 else { throw SystemError("listen", "\(ipText(ip)):\(port)") }
        _ = fcntl(socket.descriptor.rawValue, F_SETFL, fcntl(socket.descriptor.rawValue, F_GETFL) | O_NONBLOCK)
        return socket
    }

    /// Accepts one connection already queued on this listener; nil if none is (the listener never
    /// blocks: wait for it to become readable first, e.g. with `WakeDescriptor.wait(orReadable:)`).
    public func accept() throws(SystemError) -> (TCPSocket, peer: UInt32)? {
        var peer = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = retryingOnInterrupt {
            withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(descriptor.rawValue, $0, &length) }
            }
        }
        guard fd >= 0 else {
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            throw SystemError("accept")
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let connection = TCPSocket(taking: fd)
        connection.tune()
        return (connection, UInt32(bigEndian: peer.sin_addr.s_addr))
    }

    /// Connects from `sourceIP` (so the stream leaves through that interface) to `ip:port`, waiting at
    /// most `timeoutMilliseconds`.
    /// `sendBuffer` caps the kernel's send queue: bytes handed to the socket then leave within about
    /// one buffer's time, so what a sender counts as sent is close to what is on the wire.
    public static func connect(from sourceIP: UInt32?, to ip: UInt32, port: UInt16, timeoutMilliseconds: Int32,
                               sendBuffer: Int32? = nil) throws(SystemError) -> TCPSocket {
        let socket = TCPSocket(taking: try newSocket())
        let fd = socket.descriptor.rawValue
        if let sendBuffer { socket.setBuffer(SO_SNDBUF, sendBuffer) }
        if let sourceIP {
            var local = Self.address(sourceIP, 0)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { throw SystemError("bind", ipText(sourceIP)) }
        }
        try socket.descriptor.setNonBlocking()
        var remote = Self.address(ip, port)
        let started = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if started != 0 {
            guard errno == EINPROGRESS else { throw SystemError("connect", "\(ipText(ip)):\(port)") }
            var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard retryingOnInterrupt({ poll(&entry, 1, timeoutMilliseconds) }) > 0 else {
                throw SystemError("connect", "\(ipText(ip)):\(port)", errno: ETIMEDOUT)
            }
            var failure: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length)
            guard failure == 0 else { throw SystemError("connect", "\(ipText(ip)):\(port)", errno: failure) }
        }
        socket.tune()
        return socket
    }

    private func setBuffer(_ option: Int32, _ bytes: Int32) {
        var value = bytes
        setsockopt(descriptor.rawValue, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// No Nagle delay (the small switchover messages must not wait) and large buffers for the stream.
    private func tune() {
        var one: Int32 = 1
        setsockopt(descriptor.rawValue, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        try? descriptor.setNonBlocking()
    }

    /// Bytes sent but not yet acknowledged by the peer (0 when the pipe is drained).
    public var unacknowledgedBytes: Int {
        Int(max(l2m_socket_unacked(descriptor.rawValue), 0))
    }

    public func close() { descriptor.close() }

    public static func ipText(_ ip: UInt32) -> String {
        "\(ip >> 24).\((ip >> 16) & 0xff).\((ip >> 8) & 0xff).\(ip & 0xff)"
    }
}
