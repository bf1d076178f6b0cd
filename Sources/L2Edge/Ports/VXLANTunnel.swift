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
    /// The port's MTU: a longer TCP frame from a Linux sender is a super-frame (`TunnelIngress`).
    let frameMTU: Int
    /// The remote end's address and port, as `sendmsg` takes it.
    private let remote: sockaddr_in
    /// The header every frame sent gets, and where a received one is read to.
    private let header: UnsafeMutableRawBufferPointer
    private let received: UnsafeMutableRawBufferPointer
    private let message = TwoPartMessage()

    let foreign = Atomic<UInt64>(0)
    let wrongVNI = Atomic<UInt64>(0)
    let malformed = Atomic<UInt64>(0)

    init(socket: Int32, vni: UInt32, remote: sockaddr_in, frameMTU: Int) {
        self.socket = socket
        self.vni = vni
        self.frameMTU = frameMTU
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

    /// Reads the next frame from the remote end with this tunnel's VNI into `buffer`, after a
    /// virtio-net header that says what a Linux sender left undone (`TunnelIngress`: a partial
    /// checksum is completed, a TCP super-frame described; otherwise the plain header), dropping (and
    /// counting) anything else on the way. Returns the header's and the frame's length, nil when
    /// nothing is waiting (or after `refusalsPerReceive` datagrams dropped).
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int? {
        let headroom = VirtioNetHeader.length
        let frameArea = UnsafeMutableRawBufferPointer(rebasing: buffer[headroom...])
        for _ in 0..<Self.refusalsPerReceive {
            let count = message.receive(socket, into: received, frameArea, flags: Int32(MSG_DONTWAIT))
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
                throw SystemError("recvmsg on a VXLAN socket")
            }
            guard message.source.sin_addr.s_addr == remote.sin_addr.s_addr else {
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
            let frame = UnsafeMutableRawBufferPointer(rebasing: frameArea[..<(count - VXLANHeader.length)])
            (TunnelIngress.prepare(frame, mtu: frameMTU) ?? .plain).write(to: buffer)
            return headroom + frame.count
        }
        return nil
    }

    /// Sends one frame to the remote end. Returns its length, nil when the socket's queue is full.
    public func send(_ frame: UnsafeRawBufferPointer) throws(SystemError) -> Int? {
        let count = message.send(socket, UnsafeRawBufferPointer(header), frame, to: remote, flags: Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL))
        if count >= 0 { return frame.count }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS { return nil }
        // An unreachable remote (ICMP port unreachable reported on the socket) loses this frame only.
        if errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH { return nil }
        throw SystemError("sendmsg on a VXLAN socket")
    }
}
