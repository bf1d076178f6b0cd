#if canImport(Glibc)
import Glibc
#endif

/// A `sockaddr_un` for a filesystem path (the caller has checked it fits: under 108 bytes).
public func unixSocketAddress(_ path: String) -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: path.utf8)
        raw[path.utf8.count] = 0
    }
    return address
}

/// Unix stream sockets bound to or connected to a filesystem path: each system call wrapped once,
/// for the control server, its client and the machine relay.
public enum UnixSocket {
    /// The longest path a `sockaddr_un` holds, its terminating NUL not counted.
    public static let maximumPathBytes = 107

    /// Binds a listening socket at `path` (removing a stale one first), mode `mode` (0600: only root
    /// connects), backlog 16. The corresponding C functions are `socket`, `bind`, `chmod`, `listen`.
    public static func listen(at path: String, mode: mode_t = 0o600) throws(SystemError) -> OwnedDescriptor {
        guard path.utf8.count <= maximumPathBytes else { throw SystemError("bind unix socket", path, errno: ENAMETOOLONG) }
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket(AF_UNIX)") }
        let listener = OwnedDescriptor(taking: fd)
        var address = unixSocketAddress(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw SystemError("bind unix socket", path) }
        guard chmod(path, mode) == 0 else { throw SystemError("chmod \(String(mode, radix: 8))", path) }
        guard Glibc.listen(fd, 16) == 0 else { throw SystemError("listen", path) }
        return listener
    }

    /// Connects to the socket at `path`; the error's errno says why not (ENOENT: no socket file,
    /// ECONNREFUSED: nobody accepts on it, EACCES: not allowed). The corresponding C function is `connect`.
    public static func connect(to path: String) throws(SystemError) -> OwnedDescriptor {
        guard path.utf8.count <= maximumPathBytes else { throw SystemError("connect", path, errno: ENAMETOOLONG) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket(AF_UNIX)") }
        let connection = OwnedDescriptor(taking: fd)
        var address = unixSocketAddress(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw SystemError("connect", path) }
        return connection
    }

    /// Accepts one connection (close-on-exec), or nil if none was waiting or the call failed. The
    /// corresponding C function is `accept` (`accept4` is hidden without `_GNU_SOURCE`).
    public static func accept(on listener: OwnedDescriptor) -> OwnedDescriptor? {
        let fd = retryingOnInterrupt { Glibc.accept(listener.rawValue, nil, nil) }
        guard fd >= 0 else { return nil }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return OwnedDescriptor(taking: fd)
    }

    /// Sets how long a read on `connection` waits before it fails with EAGAIN (0: forever). The
    /// corresponding C function is `setsockopt(SO_RCVTIMEO)`.
    public static func setReceiveTimeout(_ connection: OwnedDescriptor, seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(connection.rawValue, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
}
