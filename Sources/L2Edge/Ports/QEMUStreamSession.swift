import L2Wire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The frames of one QEMU connected to a `qemu=` port: the connection the switch accepted on the
/// port's listening socket, and the bytes received that do not make a whole frame yet. QEMU's
/// `-netdev stream` puts a 4-byte big-endian length before each frame (`LengthPrefixedFraming`).
///
/// Only the forwarding thread reads, writes, accepts and closes; other threads read the state and
/// the counters. When the QEMU goes away (end of stream, reset, a length over the port's limit),
/// the session closes the connection and listens again: the next QEMU to connect takes the port.
public final class QEMUStreamSession: @unchecked Sendable {
    /// The port's listening socket (the port owns it).
    let listener: Int32
    /// The accepted connection, -1 while none.
    private let connection = Atomic<Int32>(-1)
    /// Received bytes not handed out yet, at `start..<end`.
    private let pending: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    /// The longest frame the port takes: its MTU plus an Ethernet header and one 802.1Q tag.
    let frameLimit: Int
    /// The 4-byte length before a frame being sent, and the message that sends both.
    private let prefix: UnsafeMutableRawBufferPointer = .allocate(byteCount: LengthPrefixedFraming.prefixLength, alignment: 4)
    private let message = TwoPartMessage()

    let connections = Atomic<UInt64>(0)
    let disconnects = Atomic<UInt64>(0)
    let invalidLengths = Atomic<UInt64>(0)
    let notConnected = Atomic<UInt64>(0)
    let stalledWrites = Atomic<UInt64>(0)

    /// How long a send that the socket took in part waits for room for the rest before the
    /// connection is given up (a frame cut in the middle would desynchronise the stream).
    static let completionTimeoutMilliseconds: Int32 = 1000

    init(listener: Int32, frameLimit: Int) {
        self.listener = listener
        self.frameLimit = frameLimit
        pending = .allocate(byteCount: max(256 * 1024, 4 * (frameLimit + LengthPrefixedFraming.prefixLength)), alignment: 64)
    }

    deinit {
        pending.deallocate()
        prefix.deallocate()
    }

    public var isConnected: Bool { connection.load(ordering: .relaxed) >= 0 }

    /// The listening socket until a QEMU connects, then the connection.
    public var pollDescriptor: Int32 {
        let fd = connection.load(ordering: .relaxed)
        return fd >= 0 ? fd : listener
    }

    /// Whether a whole frame is waiting in the session's buffer (so `poll` must not sleep on it).
    public var hasBufferedFrame: Bool {
        guard isConnected else { return false }
        if case .frame = LengthPrefixedFraming.next(in: UnsafeRawBufferPointer(rebasing: pending[start..<end]), limit: frameLimit) { return true }
        return false
    }

    /// Hands out the next whole frame into `buffer`; accepts a waiting QEMU when none is connected.
    /// Returns the frame's length, nil when no whole frame is there (or the QEMU just went away).
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int? {
        let fd = connection.load(ordering: .relaxed)
        guard fd >= 0 else {
            accept()
            return nil
        }
        while true {
            switch LengthPrefixedFraming.next(in: UnsafeRawBufferPointer(rebasing: pending[start..<end]), limit: min(frameLimit, buffer.count)) {
            case let .frame(range):
                let length = range.count
                buffer.baseAddress!.copyMemory(from: pending.baseAddress! + start + range.lowerBound, byteCount: length)
                start += range.upperBound
                if start == end { start = 0; end = 0 }
                return length
            case .invalidLength:
                invalidLengths.add(1, ordering: .relaxed)
                disconnect()
                return nil
            case .incomplete:
                if start > 0 {
                    memmove(pending.baseAddress!, pending.baseAddress! + start, end - start)
                    end -= start
                    start = 0
                }
                let count = retryingOnInterrupt { read(fd, pending.baseAddress! + end, pending.count - end) }
                if count > 0 {
                    end += count
                    continue
                }
                if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return nil }
                disconnect()
                return nil
            }
        }
    }

    /// Sends one frame after its length. A frame the socket has no room for at all is refused (nil:
    /// the switch counts a full queue); one it took in part is finished, waiting for room, so the
    /// stream stays in step.
    public func send(_ frame: UnsafeRawBufferPointer) throws(SystemError) -> Int? {
        let fd = connection.load(ordering: .relaxed)
        guard fd >= 0 else {
            notConnected.add(1, ordering: .relaxed)
            return nil
        }
        let (a, b, c, d) = LengthPrefixedFraming.prefix(for: frame.count)
        prefix[0] = a; prefix[1] = b; prefix[2] = c; prefix[3] = d
        let flags = Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)
        let total = prefix.count + frame.count
        var sent = message.send(fd, UnsafeRawBufferPointer(prefix), frame, to: nil, flags: flags)
        if sent == total { return frame.count }
        if sent < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS { return nil }
            disconnect()
            return nil
        }
        // Part of the frame went: the rest must follow before anything else.
        while sent < total {
            var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard retryingOnInterrupt({ poll(&entry, 1, Self.completionTimeoutMilliseconds) }) > 0 else {
                stalledWrites.add(1, ordering: .relaxed)
                disconnect()
                return nil
            }
            let prefixLeft = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(prefix)[min(sent, prefix.count)...])
            let frameLeft = UnsafeRawBufferPointer(rebasing: frame[max(0, sent - prefix.count)...])
            let count = message.send(fd, prefixLeft, frameLeft, to: nil, flags: flags)
            if count > 0 { sent += count } else if count < 0 && errno != EAGAIN && errno != EWOULDBLOCK {
                disconnect()
                return nil
            }
        }
        return frame.count
    }

    /// Takes a QEMU waiting on the listening socket, if one is.
    private func accept() {
        let fd = Glibc.accept(listener, nil, nil)
        guard fd >= 0 else { return }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var size: Int32 = 4 << 20
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
        start = 0
        end = 0
        connection.store(fd, ordering: .relaxed)
        connections.add(1, ordering: .relaxed)
    }

    /// Closes the connection (counted as a disconnect) and listens again.
    func disconnect() {
        let fd = connection.exchange(-1, ordering: .relaxed)
        guard fd >= 0 else { return }
        Glibc.close(fd)
        start = 0
        end = 0
        disconnects.add(1, ordering: .relaxed)
    }

    /// Closes the connection without counting it: the switch is stopping. Forwarding thread only.
    public func closeConnection() {
        let fd = connection.exchange(-1, ordering: .relaxed)
        if fd >= 0 { Glibc.close(fd) }
    }
}
