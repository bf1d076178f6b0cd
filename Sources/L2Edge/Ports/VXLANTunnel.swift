import L2Wire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The frames of one VXLAN tunnel end: each frame in a UDP datagram after the 8-byte VXLAN header
/// (`VXLANHeader`), sent to the remote end and accepted only from it and only with the tunnel's VNI.
/// Whatever else reaches the socket (another sender, another VNI, a datagram without the I flag or
/// too short to hold a frame) is counted and dropped. Only the forwarding thread reads and writes.
public final class VXLANTunnel: @unchecked Sendable {
    let socket: Int32
    let vni: UInt32
    /// The remote end's address and port, as `sendmsg` takes it.
    private var remote: sockaddr_in
    /// The header every frame sent gets, and where a received one is read to.
    private let header: UnsafeMutableRawBufferPointer
    private let received: UnsafeMutableRawBufferPointer

    let foreign = Atomic<UInt64>(0)
    let wrongVNI = Atomic<UInt64>(0)
    let malformed = Atomic<UInt64>(0)

    init(socket: Int32, vni: UInt32, remote: sockaddr_in) {
        self.socket = socket
        self.vni = vni
        self.remote = remote
        header = .allocate(byteCount: VXLANHeader.length, alignment: 8)
        header.copyBytes(from: VXLANHeader(vni: vni).bytes)
        received = .allocate(byteCount: VXLANHeader.length, alignment: 8)
    }

    deinit {
        header.deallocate()
        received.deallocate()
    }

    /// Datagrams one `receive` drops at most before it returns nil: a stream of stray datagrams then
    /// costs this port its turn, not the other ports theirs (the socket stays readable, so the next
    /// pass comes back to it).
    static let refusalsPerReceive = 64

    /// Reads the next frame from the remote end with this tunnel's VNI into `buffer`, dropping (and
    /// counting) anything else on the way. Returns its length, nil when nothing is waiting (or after
    /// `refusalsPerReceive` datagrams dropped).
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int? {
        for _ in 0..<Self.refusalsPerReceive {
            var source = sockaddr_in()
            var vectors = [iovec(iov_base: received.baseAddress, iov_len: received.count),
                           iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)]
            let count = withUnsafeMutablePointer(to: &source) { sourcePointer in
                vectors.withUnsafeMutableBufferPointer { vectors in
                    var message = msghdr()
                    message.msg_name = UnsafeMutableRawPointer(sourcePointer)
                    message.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
                    message.msg_iov = vectors.baseAddress
                    message.msg_iovlen = 2
                    return retryingOnInterrupt { recvmsg(socket, &message, Int32(MSG_DONTWAIT)) }
                }
            }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
                throw SystemError("recvmsg on a VXLAN socket")
            }
            guard source.sin_addr.s_addr == remote.sin_addr.s_addr else {
                foreign.add(1, ordering: .relaxed)
                continue
            }
            guard count >= VXLANHeader.length + 14, let parsed = VXLANHeader(parsing: UnsafeRawBufferPointer(received)) else {
                malformed.add(1, ordering: .relaxed)
                continue
            }
            guard parsed.vni == vni else {
                wrongVNI.add(1, ordering: .relaxed)
                continue
            }
            return count - VXLANHeader.length
        }
        return nil
    }

    /// Sends one frame to the remote end. Returns its length, nil when the socket's queue is full.
    public func send(_ frame: UnsafeRawBufferPointer) throws(SystemError) -> Int? {
        var vectors = [iovec(iov_base: header.baseAddress, iov_len: header.count),
                       iovec(iov_base: UnsafeMutableRawPointer(mutating: frame.baseAddress), iov_len: frame.count)]
        let count = withUnsafeMutablePointer(to: &remote) { remotePointer in
            vectors.withUnsafeMutableBufferPointer { vectors in
                var message = msghdr()
                message.msg_name = UnsafeMutableRawPointer(remotePointer)
                message.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
                message.msg_iov = vectors.baseAddress
                message.msg_iovlen = 2
                return retryingOnInterrupt { sendmsg(socket, &message, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)) }
            }
        }
        if count >= 0 { return frame.count }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS { return nil }
        // An unreachable remote (ICMP port unreachable reported on the socket) loses this frame only.
        if errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH { return nil }
        throw SystemError("sendmsg on a VXLAN socket")
    }
}
