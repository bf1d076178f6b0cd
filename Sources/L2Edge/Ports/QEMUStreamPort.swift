import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A switch port for one QEMU (`qemu=PATH`): the switch listens on a unix stream socket at `path`,
/// and QEMU connects with `-netdev stream,id=n0,server=off,addr.type=unix,addr.path=PATH` (QEMU 7.2
/// has no `reconnect=`, so the switch listens before QEMU starts). Frames carry no virtio-net header:
/// a super-frame bound here is segmented by the switch. One QEMU at a time: when it exits, the next
/// to connect to the same path takes the port (the destination QEMU of a QEMU live migration gets a
/// port of its own, and the switch relearns from its RARP like any move).
///
/// Carrier is only recorded (a socket has none to show); the switch's admin state stops frames.
public final class QEMUStreamPort: SwitchPort {
    public let path: String
    public let listener: OwnedDescriptor
    public let session: QEMUStreamSession
    private let carrier = Atomic<Bool>(true)

    /// Listens at `path`, which must not exist. `frameLimit`: the longest frame the port takes (its
    /// MTU plus 18); a QEMU that announces a longer one is disconnected and counted.
    public init(path: String, frameLimit: Int) throws(SystemError) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket(AF_UNIX, SOCK_STREAM)") }
        let owned = OwnedDescriptor(taking: fd)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw SystemError("bind", path, errno: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw SystemError("bind", path) }
        guard listen(fd, 4) == 0 else {
            let error = SystemError("listen on", path)
            unlink(path)
            throw error
        }
        self.path = path
        listener = owned
        session = QEMUStreamSession(listener: fd, frameLimit: frameLimit)
    }

    public var name: String { path }

    public var channel: FrameChannel {
        FrameChannel(descriptor: listener.rawValue, framing: .stream(Unmanaged.passUnretained(session)), acceptsOffloads: false)
    }

    public var hasCarrier: Bool { carrier.load(ordering: .relaxed) }

    public func setCarrier(_ on: Bool) throws(SystemError) { carrier.store(on, ordering: .relaxed) }

    public var endpointState: String {
        guard hasCarrier else { return "down" }
        return session.isConnected ? "connected" : "listening"
    }

    public var endpointCounters: [String: UInt64] {
        ["connections": session.connections.load(ordering: .relaxed),
         "disconnects": session.disconnects.load(ordering: .relaxed),
         "invalid_lengths": session.invalidLengths.load(ordering: .relaxed),
         "not_connected": session.notConnected.load(ordering: .relaxed),
         "stalled_writes": session.stalledWrites.load(ordering: .relaxed)]
    }

    /// Stops listening and removes the socket file. The connection, if any, is the forwarding
    /// thread's to close (it was accepted there).
    public func close() {
        guard listener.isOpen else { return }
        listener.close()
        unlink(path)
    }
}
