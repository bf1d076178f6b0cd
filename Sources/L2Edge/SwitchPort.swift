#if canImport(Glibc)
import Glibc
#endif

/// One port of a userspace switch, whatever carries its frames: a TAP device (`TapPort`), one end of
/// a socket pair (`DatagramSocketPort`, for tests without root), and later an attached interface
/// (AF_PACKET), a QEMU stream socket or a VXLAN tunnel. The port owns its descriptor; the switch's
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
}

extension SwitchPort {
    /// Whether each frame carries a virtio-net header (offload metadata) before it.
    public var acceptsOffloads: Bool { channel.acceptsOffloads }
}

/// How frames are delimited on a port's descriptor.
///
/// Only `datagram` is built. The kinds to come fit here, each as a case the forwarding loop switches
/// on per frame (a branch, not a call through a witness table):
/// - a QEMU stream socket (`-netdev stream`) carries a 4-byte big-endian length before each frame on
///   a byte stream, so a read may hold several frames or part of one: it needs a per-port reassembly
///   buffer and a batch read that hands out whole frames;
/// - VXLAN carries each frame in a UDP datagram after an 8-byte header (flags, 24-bit VNI): a read
///   strips it, a write prepends it and goes to the remote tunnel end.
public enum PortFraming: Sendable, Hashable {
    /// One `read` returns one whole frame and one `write` sends one: a TAP, an AF_UNIX
    /// `SOCK_SEQPACKET`/`SOCK_DGRAM` socket, an AF_PACKET socket.
    case datagram
}

/// What the forwarding loop needs of a port per frame, as a plain value: the raw descriptor (the
/// port keeps it open while the loop runs), the framing, and whether frames carry a virtio-net header.
public struct FrameChannel: Sendable, Hashable {
    public let descriptor: Int32
    public let framing: PortFraming
    /// Each frame read starts with, and each frame written must start with, a `VirtioNetHeader`
    /// (`IFF_VNET_HDR` on a TAP). A port without it cannot take a GSO super-frame: such a frame would
    /// have to be segmented in software first (see the switch's `transmit`).
    public let acceptsOffloads: Bool

    public init(descriptor: Int32, framing: PortFraming = .datagram, acceptsOffloads: Bool) {
        self.descriptor = descriptor
        self.framing = framing
        self.acceptsOffloads = acceptsOffloads
    }

    /// Reads one frame (after its virtio-net header when `acceptsOffloads`) into `buffer`. Returns the
    /// byte count, nil when none is queued, 0 at end of stream.
    @inlinable @inline(__always)
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int? {
        switch framing {
        case .datagram: try OwnedDescriptor.read(descriptor, into: buffer)
        }
    }

    /// Sends one frame (starting with its virtio-net header when `acceptsOffloads`). Returns the byte
    /// count, nil when the port's queue is full.
    @inlinable @inline(__always)
    public func send(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int? {
        switch framing {
        case .datagram: try OwnedDescriptor.write(descriptor, bytes)
        }
    }
}
