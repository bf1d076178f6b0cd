import L2Wire
@testable import L2Switch

/// Seconds and milliseconds in the switch's nanosecond time.
let second: UInt64 = 1_000_000_000
let millisecond: UInt64 = 1_000_000

/// Locally administered unicast MACs for tests: `02:00:00:00:xx:yy`.
func mac(_ n: Int) -> MACAddress { MACAddress(rawValue: 0x0200_0000_0000 | UInt64(n)) }

let vm = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10)

/// A 14-byte Ethernet II header followed by `payload` zero bytes (default: pad to 60 bytes).
func frame(to destination: MACAddress, from source: MACAddress, type: UInt16 = 0x0800, payload: Int = 46) -> [UInt8] {
    destination.bytes + source.bytes + [UInt8(type >> 8), UInt8(type & 0xff)] + [UInt8](repeating: 0, count: payload)
}

/// A frame with an 802.1Q tag (VLAN `vid`), `payload` bytes after the 18-byte header.
func taggedFrame(to destination: MACAddress, from source: MACAddress, vid: UInt16 = 10, payload: Int = 42) -> [UInt8] {
    destination.bytes + source.bytes + [0x81, 0x00, UInt8(vid >> 8), UInt8(vid & 0xff), 0x08, 0x00]
        + [UInt8](repeating: 0, count: payload)
}

/// The 60-byte RARP announce QEMU and ESXi send for `mac` after a migration (see ANCHORS.md).
func rarpAnnounce(for mac: MACAddress) -> [UInt8] {
    var bytes = MACAddress.broadcast.bytes + mac.bytes + [0x80, 0x35]
    bytes += [0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x03]
    bytes += mac.bytes + [0, 0, 0, 0] + mac.bytes + [0, 0, 0, 0]
    bytes += [UInt8](repeating: 0, count: 18)
    return bytes
}

/// A switch with ports 1, 2, 3 named like the lab's (`p1`..`p3`), MTU 1500, all up.
func threePortSwitch(_ configuration: SwitchCore.Configuration = .init()) throws -> SwitchCore {
    var core = SwitchCore(configuration: configuration)
    for n in 1...3 {
        try core.addPort(PortID(n), PortConfiguration(name: "p\(n)"))
    }
    return core
}

/// A random unicast, non-zero MAC.
func randomMAC(_ generator: inout SplitMix64) -> MACAddress {
    let raw = generator.next() & 0xFEFF_FFFF_FFFF & 0xFFFF_FFFF_FFFF  // clear the group bit
    return MACAddress(rawValue: raw == 0 ? 2 : raw)
}
