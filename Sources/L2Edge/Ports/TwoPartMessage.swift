#if canImport(Glibc)
import Glibc
#endif

/// One datagram or stream write in two parts, a header and a frame, with one `sendmsg` or `recvmsg`:
/// a VXLAN header and its frame, QEMU's length prefix and its frame. The iovec pair, the message and
/// the peer address are allocated once, so a port's per-frame path allocates nothing. One thread at
/// a time (a port's forwarding thread).
final class TwoPartMessage {
    private let vectors: UnsafeMutablePointer<iovec>
    private let message: UnsafeMutablePointer<msghdr>
    private let address: UnsafeMutablePointer<sockaddr_in>

    init() {
        vectors = .allocate(capacity: 2)
        vectors.initialize(repeating: iovec(), count: 2)
        message = .allocate(capacity: 1)
        message.initialize(to: msghdr())
        address = .allocate(capacity: 1)
        address.initialize(to: sockaddr_in())
    }

    deinit {
        vectors.deallocate()
        message.deallocate()
        address.deallocate()
    }

    /// The sender of the last `receive`.
    var source: sockaddr_in { address.pointee }

    private func prepare(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer, addressed: Bool) {
        vectors[0] = iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress), iov_len: first.count)
        vectors[1] = iovec(iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress), iov_len: second.count)
        message.pointee = msghdr()
        message.pointee.msg_iov = vectors
        message.pointee.msg_iovlen = 2
        if addressed {
            message.pointee.msg_name = UnsafeMutableRawPointer(address)
            message.pointee.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
        }
    }

    /// Receives one datagram, its first bytes into `first` and the rest into `second`; the sender is
    /// then `source`. Returns recvmsg's result (-1 with errno set).
    func receive(_ socket: Int32, into first: UnsafeMutableRawBufferPointer, _ second: UnsafeMutableRawBufferPointer, flags: Int32) -> Int {
        prepare(UnsafeRawBufferPointer(first), UnsafeRawBufferPointer(second), addressed: true)
        return retryingOnInterrupt { recvmsg(socket, message, flags) }
    }

    /// Sends `first` then `second` as one message, to `destination` when given (a datagram socket),
    /// else on the connected socket. Returns sendmsg's result (-1 with errno set).
    func send(_ socket: Int32, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer, to destination: sockaddr_in?, flags: Int32) -> Int {
        if let destination { address.pointee = destination }
        prepare(first, second, addressed: destination != nil)
        return retryingOnInterrupt { sendmsg(socket, message, flags) }
    }
}
