import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A switch port on one end of an AF_UNIX `SOCK_SEQPACKET` socket pair: one frame per message, as
/// on a TAP descriptor, with no device and no privilege. The other end (`Pair.peer`) is the "cable":
/// a test writes frames into it and reads what the switch sent. With `virtioHeader`, frames in both
/// directions carry a virtio-net header, as on a TAP opened with `IFF_VNET_HDR`.
///
/// The corresponding C function is `socketpair`.
public final class DatagramSocketPort: SwitchPort {
    /// A port and the descriptor of the other end of its socket pair.
    public struct Pair: Sendable {
        public let port: DatagramSocketPort
        public let peer: OwnedDescriptor
    }

    public let name: String
    public let descriptor: OwnedDescriptor
    private let virtioHeader: Bool
    private let carrier = Atomic<Bool>(true)

    private init(name: String, descriptor: OwnedDescriptor, virtioHeader: Bool) {
        self.name = name
        self.descriptor = descriptor
        self.virtioHeader = virtioHeader
    }

    /// Makes a socket pair, both ends non-blocking and close-on-exec; the port gets one end.
    public static func pair(name: String, virtioHeader: Bool = false) throws(SystemError) -> Pair {
        var ends: [Int32] = [-1, -1]
        let kind = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        guard socketpair(AF_UNIX, kind, 0, &ends) == 0 else { throw SystemError("socketpair", name) }
        let port = DatagramSocketPort(name: name, descriptor: OwnedDescriptor(taking: ends[0]), virtioHeader: virtioHeader)
        return Pair(port: port, peer: OwnedDescriptor(taking: ends[1]))
    }

    public var channel: FrameChannel { FrameChannel(descriptor: descriptor.rawValue, acceptsOffloads: virtioHeader) }

    public var hasCarrier: Bool { carrier.load(ordering: .relaxed) }

    /// Only recorded: a socket has no carrier to show the other end.
    public func setCarrier(_ on: Bool) throws(SystemError) { carrier.store(on, ordering: .relaxed) }

    public func close() { descriptor.close() }
}
