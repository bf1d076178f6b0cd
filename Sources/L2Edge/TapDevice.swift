import CTap
#if canImport(Glibc)
import Glibc
#endif

/// A TAP network device whose descriptor this process holds: one `read` returns one Ethernet frame
/// (no packet-info header), one `write` injects one frame into the kernel side. The kernel side can be
/// moved to another network namespace and renamed; the descriptor stays valid. Closing the
/// descriptor removes the device, wherever its kernel side is.
///
/// The corresponding C function is `l2m_tap_open` (open `/dev/net/tun`, `ioctl(TUNSETIFF)`).
public final class TapDevice: Sendable {
    public let descriptor: OwnedDescriptor
    /// The name the kernel gave the device when it was created (in the creator's namespace).
    public let name: String
    public let hasVirtioHeader: Bool

    public static var maximumNameLength: Int { Int(l2m_ifname_max()) }

    public init(name: String, virtioHeader: Bool = false) throws(SystemError) {
        guard name.utf8.count <= Self.maximumNameLength else {
            throw SystemError("open TAP", name, errno: ENAMETOOLONG)
        }
        var chosen = [CChar](repeating: 0, count: 32)
        let fd = l2m_tap_open(name, virtioHeader ? 1 : 0, &chosen, chosen.count)
        guard fd >= 0 else { throw SystemError("open TAP", name) }
        descriptor = OwnedDescriptor(taking: fd)
        self.name = String(cBuffer: chosen)
        hasVirtioHeader = virtioHeader
        try descriptor.setNonBlocking()
    }

    /// Sets the device's carrier: off makes the kernel side see NO-CARRIER (a pulled cable).
    public func setCarrier(_ on: Bool) throws(SystemError) {
        guard l2m_tap_set_carrier(descriptor.rawValue, on ? 1 : 0) == 0 else { throw SystemError("TUNSETCARRIER", name) }
    }

    /// Enables offloads (`TUN_F_CSUM`, `TUN_F_TSO4`, ...); only meaningful with a virtio header.
    public func setOffload(_ flags: UInt32) throws(SystemError) {
        guard l2m_tap_set_offload(descriptor.rawValue, flags) == 0 else { throw SystemError("TUNSETOFFLOAD", name) }
    }

    public func close() { descriptor.close() }
}
