import CTap
#if canImport(Glibc)
import Glibc
#endif

/// A TAP network device whose descriptor this process holds: one `read` returns one Ethernet frame
/// (no packet-info header; after a 10-byte virtio-net header when opened with `virtioHeader`), one
/// `write` injects one frame into the kernel side. The kernel side can be
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

    /// `TUN_F_*` offload flags for `setOffload`.
    public struct Offloads: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// The reader accepts frames with a partial checksum (`TUN_F_CSUM`).
        public static let checksum = Offloads(rawValue: 0x01)
        /// ... and TCP super-frames over IPv4 and IPv6, ECN included (`TUN_F_TSO4|TSO6|TSO_ECN`).
        public static let tcpSegmentation = Offloads(rawValue: 0x02 | 0x04 | 0x08)
    }

    /// Tells the kernel which offloads this descriptor's reader handles (`TUNSETOFFLOAD`); the kernel
    /// side then advertises them and hands over partial checksums and GSO super-frames instead of
    /// doing that work per packet. Only meaningful with a virtio header.
    public func setOffload(_ offloads: Offloads) throws(SystemError) {
        guard l2m_tap_set_offload(descriptor.rawValue, offloads.rawValue) == 0 else { throw SystemError("TUNSETOFFLOAD", name) }
    }

    public func close() { descriptor.close() }
}
