#if canImport(Glibc)
import Glibc
#endif

/// One port of a userspace switch, whatever carries its frames: a TAP device (`TapPort`), one end of
/// a socket pair (`DatagramSocketPort`, for tests without root), an attached interface
/// (`AttachedPort`, AF_PACKET), a QEMU stream socket (`QEMUStreamPort`) or a VXLAN tunnel (`VXLANPort`). The port owns its descriptor; the switch's
/// forwarding loop takes the plain `FrameChannel` value once, before its loop, and moves frames
/// through that (no dynamic dispatch, no reference counting per frame). What goes through the
/// protocol itself is set up and control: carrier, closing.
public protocol SwitchPort: AnyObject, Sendable {
    /// The name the switch's logs and errors use (the TAP's kernel name, a socket's label).
    var name: String { get }
    /// How the forwarding loop reads and writes this port's frames.
    var channel: FrameChannel { get }
    /// The port's carrier as last set: down is a pulled cable (a TAP's kernel side sees NO-CARRIER).
    var hasCarrier: Bool { get }
    /// Sets the carrier. The switch's admin state (`SwitchCore.setPort`) is what stops frames; the
    /// carrier tells the other side.
    func setCarrier(_ on: Bool) throws(SystemError)
    /// Closes the descriptor (a TAP device vanishes with it). Later reads and writes fail.
    func close()
    /// One word for how the endpoint is doing: up, down, listening, connected, attached, ...
    var endpointState: String { get }
    /// The kind's own counts, by name (a QEMU port's connections, a tunnel's refusals); empty when it keeps none.
    var endpointCounters: [String: UInt64] { get }
}

extension SwitchPort {
    /// Whether each frame carries a virtio-net header (offload metadata) before it.
    public var acceptsOffloads: Bool { channel.acceptsOffloads }
}

extension SwitchPort {
    /// TAP and socket-pair ports report their carrier, and keep no counts of their own.
    public var endpointState: String { hasCarrier ? "up" : "down" }
    public var endpointCounters: [String: UInt64] { [:] }
}

/// How frames are delimited on a port's descriptor; the forwarding loop switches on it per frame (a
/// branch, not a call through a witness table).
///
/// The stream and tunnel cases hold their state unretained: the port owns it and outlives the loop,
/// and a per-frame retain and release of it would cost every port's frames.
public enum PortFraming: @unchecked Sendable {
    /// One `read` returns one whole frame and one `write` sends one: a TAP, an AF_UNIX
    /// `SOCK_SEQPACKET`/`SOCK_DGRAM` socket.
    case datagram
    /// An AF_PACKET socket (`attach=`): one frame per read and write, after a virtio-net header when
    /// the port takes offloads (`PACKET_VNET_HDR`); the kernel hands over an 802.1Q tag beside the
    /// frame (PACKET_AUXDATA), and the read puts it back where it was.
    case packet
    /// A QEMU stream socket (`qemu=`): each frame after a 4-byte big-endian length on a byte stream,
    /// reassembled by the session, which also listens for the next QEMU when one goes away.
    case stream(Unmanaged<QEMUStreamSession>)
    /// A VXLAN tunnel (`vxlan=`): each frame in a UDP datagram after an 8-byte VXLAN header.
    case tunnel(Unmanaged<VXLANTunnel>)
}

/// What the forwarding loop needs of a port per frame, as a plain value: the raw descriptor (the
/// port keeps it open while the loop runs), the framing, and whether frames carry a virtio-net header.
public struct FrameChannel: Sendable {
    public let descriptor: Int32
    public let framing: PortFraming
    /// Each frame written must start with a `VirtioNetHeader` (`IFF_VNET_HDR` on a TAP,
    /// `PACKET_VNET_HDR` on an attached interface). A port without it cannot take a GSO super-frame:
    /// the switch segments such a frame in software first (see its `transmit`).
    public let acceptsOffloads: Bool
    /// Each frame read starts with a `VirtioNetHeader`: every port that accepts offloads, and a VXLAN
    /// tunnel, whose framing describes what a Linux sender left undone (`TunnelIngress`).
    public let readsHeader: Bool

    public init(descriptor: Int32, framing: PortFraming = .datagram, acceptsOffloads: Bool, readsHeader: Bool? = nil) {
        self.descriptor = descriptor
        self.framing = framing
        self.acceptsOffloads = acceptsOffloads
        self.readsHeader = readsHeader ?? acceptsOffloads
    }

    /// Reads one frame (after its virtio-net header when `readsHeader`) into `buffer`. Returns the
    /// byte count, nil when none is queued, 0 at end of stream.
    @inlinable @inline(__always)
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int? {
        switch framing {
        case .datagram: try OwnedDescriptor.read(descriptor, into: buffer)
        case .packet: try PacketFraming.receive(descriptor, into: buffer, virtioHeader: acceptsOffloads)
        case let .stream(session): try session.takeUnretainedValue().receive(into: buffer)
        case let .tunnel(tunnel): try tunnel.takeUnretainedValue().receive(into: buffer)
        }
    }

    /// Sends one frame (starting with its virtio-net header when `acceptsOffloads`). Returns the byte
    /// count, nil when the port's queue is full (or, for a QEMU port, no QEMU is connected).
    @inlinable @inline(__always)
    public func send(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int? {
        switch framing {
        case .datagram, .packet: try OwnedDescriptor.write(descriptor, bytes)
        case let .stream(session): try session.takeUnretainedValue().send(bytes)
        case let .tunnel(tunnel): try tunnel.takeUnretainedValue().send(bytes)
        }
    }

    /// The descriptor `poll` should wait on now: a QEMU port's listening socket until a QEMU connects,
    /// then the connection; every other kind's one descriptor.
    public var pollDescriptor: Int32 {
        if case let .stream(session) = framing { return session.takeUnretainedValue().pollDescriptor }
        return descriptor
    }
}
