import CTap
#if canImport(Glibc)
import Glibc
#endif

/// An AF_PACKET raw socket bound to one interface: it receives every frame on the wire (in
/// promiscuous mode, also frames for other MACs), not the ones it sent itself, and sends whole
/// Ethernet frames. A hypervisor host uses one on its uplink `vmnic0`.
///
/// The corresponding C function is `l2m_packet_open`.
public final class PacketSocket: Sendable {
    public let descriptor: OwnedDescriptor
    public let interface: String

    public init(interface: String, promiscuous: Bool = true) throws(SystemError) {
        let fd = l2m_packet_open(interface, promiscuous ? 1 : 0)
        guard fd >= 0 else { throw SystemError("open AF_PACKET socket on", interface) }
        descriptor = OwnedDescriptor(taking: fd)
        self.interface = interface
    }

    /// Room `receive(into:)` keeps in front of a frame for the tag the kernel took off.
    public static let tagRoom = 4

    /// Receives one frame as it was on the wire. The kernel removes an 802.1Q tag before an AF_PACKET
    /// socket sees the frame and reports it in PACKET_AUXDATA; this puts it back, so a tagged frame
    /// never looks untagged. The frame is read `tagRoom` bytes into `buffer` and, when tagged, its MAC
    /// addresses moved to the front to make room for the tag. Returns where the frame lies in
    /// `buffer`, or nil if nothing is waiting.
    ///
    /// The corresponding C function is `l2m_packet_recv` (recvmsg).
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Range<Int>? {
        let room = Self.tagRoom
        guard buffer.count > room + 12, let base = buffer.baseAddress else { return nil }
        var tci: Int32 = -1
        var tpid: Int32 = 0
        let count = retryingOnInterrupt { l2m_packet_recv(descriptor.rawValue, base + room, buffer.count - room, &tci, &tpid) }
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            throw SystemError("recvmsg on", interface)
        }
        let length = Int(count)
        guard tci >= 0, length >= 12 else { return room..<(room + length) }
        // dst and src move 4 bytes to the front; the tag goes where they were, before the EtherType.
        memmove(base, base + room, 12)
        buffer[12] = UInt8(truncatingIfNeeded: tpid >> 8)
        buffer[13] = UInt8(truncatingIfNeeded: tpid)
        buffer[14] = UInt8(truncatingIfNeeded: tci >> 8)
        buffer[15] = UInt8(truncatingIfNeeded: tci)
        return 0..<(room + length)
    }

    /// Sends one frame; returns false if the socket's queue is full (the frame is dropped).
    @discardableResult
    public func send(_ frame: UnsafeRawBufferPointer) throws(SystemError) -> Bool {
        try descriptor.write(frame) != nil
    }

    /// Whether the interface is administratively up and has a carrier (IFF_UP, IFF_RUNNING), read now.
    public func linkState() throws(SystemError) -> (up: Bool, carrier: Bool) {
        let flags = l2m_interface_flags(descriptor.rawValue, interface)
        guard flags >= 0 else { throw SystemError("read the flags of", interface) }
        return (flags & l2m_iff_up() != 0, flags & l2m_iff_running() != 0)
    }

    @discardableResult
    public func send(_ frame: [UInt8]) throws(SystemError) -> Bool {
        try frame.withUnsafeBytes { raw in Result { () throws(SystemError) in try send(raw) } }.get()
    }
}
