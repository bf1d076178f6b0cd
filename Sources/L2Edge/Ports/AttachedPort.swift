import CTap
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A switch port on an interface that already exists (`attach=IFNAME[,netns=NS]`): a QEMU or libvirt
/// TAP such as `vnet0`, a container's veth, a dummy, a NIC. The switch holds an AF_PACKET socket bound
/// to it, made in the interface's namespace, and leaves the interface where it is: no move, no rename,
/// no address. The socket is promiscuous (a membership the kernel drops when the socket closes, so
/// the interface's promiscuity is restored however the switch ends), ignores the frames the switch
/// itself sent (PACKET_IGNORE_OUTGOING) and reads and writes a virtio-net header before each frame
/// (PACKET_VNET_HDR), so checksum and segmentation offloads cross where the interface has them and a
/// super-frame arrives whole, with what it needs to be cut in software for a port without offloads.
///
/// One switch port per interface: the port holds an `InterfaceClaim` for its life.
///
/// Carrier: `port P down` takes the interface down (its peer, a veth's other end, sees NO-CARRIER, as
/// a TAP port's kernel side does); `up` brings it back. An interface that was down when attached is
/// brought up, and left down again when the port closes.
///
/// The corresponding C functions are `l2m_packet_open`, `l2m_packet_set_vnet_hdr`, `l2m_interface_flags`
/// and `l2m_interface_set_up`.
public final class AttachedPort: SwitchPort {
    public let interface: String
    /// The interface's namespace; empty: the root namespace.
    public let namespace: String
    public let socket: OwnedDescriptor
    private let claim: InterfaceClaim
    private let wasUp: Bool
    private let carrier = Atomic<Bool>(true)

    /// Claims `interface` in `namespace` (empty: here), opens the socket there and brings the interface
    /// up. A failure releases the claim.
    public init(interface: String, namespace: String) throws {
        let claim = try InterfaceClaim(interface: interface, namespace: namespace)
        do {
            (socket, wasUp) = try Self.open(interface: interface, namespace: namespace)
        } catch {
            claim.release()
            throw error
        }
        self.claim = claim
        self.interface = interface
        self.namespace = namespace
    }

    /// The socket on `interface`, and whether the interface was up (it is brought up if not).
    private static func open(interface: String, namespace: String) throws -> (OwnedDescriptor, Bool) {
        let opened = try NetworkNamespace.perform(in: namespace) { () throws(SystemError) -> OpenedSocket in
            let fd = l2m_packet_open(interface, 1)
            guard fd >= 0 else { throw SystemError("open an AF_PACKET socket on", interface) }
            guard l2m_packet_set_vnet_hdr(fd) == 0 else {
                let error = SystemError("turn on PACKET_VNET_HDR on", interface)
                Glibc.close(fd)
                throw error
            }
            return OpenedSocket(descriptor: fd)
        }
        let socket = OwnedDescriptor(taking: opened.descriptor)
        let flags = l2m_interface_flags(socket.rawValue, interface)
        guard flags >= 0 else { throw SystemError("read the flags of", interface) }
        let wasUp = flags & l2m_iff_up() != 0
        if !wasUp && l2m_interface_set_up(socket.rawValue, interface, 1) != 0 { throw SystemError("set up", interface) }
        return (socket, wasUp)
    }

    public var name: String { namespace.isEmpty ? interface : "\(namespace)/\(interface)" }

    public var channel: FrameChannel { FrameChannel(descriptor: socket.rawValue, framing: .packet, acceptsOffloads: true) }

    public var hasCarrier: Bool { carrier.load(ordering: .relaxed) }

    public func setCarrier(_ on: Bool) throws(SystemError) {
        try setUp(on)
        carrier.store(on, ordering: .relaxed)
    }

    private func setUp(_ on: Bool) throws(SystemError) {
        guard l2m_interface_set_up(socket.rawValue, interface, on ? 1 : 0) == 0 else {
            throw SystemError("set \(on ? "up" : "down")", interface)
        }
    }

    public var endpointState: String {
        guard hasCarrier else { return "down" }
        let flags = socket.isOpen ? l2m_interface_flags(socket.rawValue, interface) : -1
        if flags < 0 { return "gone" }
        return flags & l2m_iff_running() != 0 ? "attached" : "no-carrier"
    }


    /// Leaves the interface up or down as it was found, closes the socket (which ends its
    /// promiscuous membership) and releases the claim.
    public func close() {
        guard socket.isOpen else { return }
        if !wasUp || !hasCarrier { _ = l2m_interface_set_up(socket.rawValue, interface, wasUp ? 1 : 0) }
        socket.close()
        claim.release()
    }
}

/// A descriptor handed back from a namespace thread.
struct OpenedSocket: Sendable {
    let descriptor: Int32
}
