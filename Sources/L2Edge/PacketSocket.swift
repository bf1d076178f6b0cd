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
