// Scopes and the addresses derived from a MAC or an address: link-local (EUI-64), solicited-node
// multicast (RFC 4291 section 2.7.1) and the Ethernet multicast MAC (RFC 2464 section 7).

extension IPv6Address {
    /// `ff02::1`, all nodes on the link: where unsolicited Neighbor Advertisements go.
    public static let allNodes = IPv6Address(high: 0xff02 << 48, low: 1)
    /// `ff02::2`, all routers on the link.
    public static let allRouters = IPv6Address(high: 0xff02 << 48, low: 2)
    /// `::1`.
    public static let loopback = IPv6Address(high: 0, low: 1)

    /// `::`.
    public var isUnspecified: Bool { self == .unspecified }
    /// In `fe80::/10`.
    public var isLinkLocal: Bool { high >> 54 == 0x3fa }
    /// In `ff00::/8`.
    public var isMulticast: Bool { high >> 56 == 0xff }
    /// In `ff02::1:ff00:0/104`: some address's solicited-node group.
    public var isSolicitedNodeMulticast: Bool {
        high == 0xff02 << 48 && low >> 24 == 0x1_ff
    }

    /// The link-local address `fe80::/64` with the modified EUI-64 interface identifier of `mac`
    /// (RFC 4291 appendix A: `ff:fe` inserted in the middle, the universal/local bit flipped), as a
    /// Linux kernel forms it: 00:50:56:00:00:10 → `fe80::250:56ff:fe00:10`.
    public static func linkLocal(eui64 mac: MACAddress) -> IPv6Address {
        IPv6Address(high: 0xfe80 << 48, low: interfaceIdentifier(eui64: mac))
    }

    /// The modified EUI-64 interface identifier of `mac`.
    public static func interfaceIdentifier(eui64 mac: MACAddress) -> UInt64 {
        let o = mac.octets
        return UInt64(o.0 ^ 0x02) << 56 | UInt64(o.1) << 48 | UInt64(o.2) << 40 | UInt64(0xff) << 32 | UInt64(0xfe) << 24
            | UInt64(o.3) << 16 | UInt64(o.4) << 8 | UInt64(o.5)
    }

    /// The solicited-node multicast group of this address, `ff02::1:ff` + its low 24 bits, where
    /// Neighbor Solicitations for it are sent: `fd00:10:10::10` → `ff02::1:ff00:10`.
    public var solicitedNode: IPv6Address {
        IPv6Address(high: 0xff02 << 48, low: 0x1_ff00_0000 | low & 0xff_ffff)
    }

    /// The Ethernet destination of a packet to this multicast address: `33:33` + its low 32 bits
    /// (RFC 2464 section 7); `ff02::1:ff00:10` → 33:33:ff:00:00:10. Meaningful for multicast addresses.
    public var multicastMAC: MACAddress {
        MACAddress(rawValue: 0x3333 << 32 | low & 0xffff_ffff)
    }
}

extension MACAddress {
    /// True for the `33:33:xx:xx:xx:xx` block IPv6 multicast maps to (RFC 2464 section 7).
    public var isIPv6Multicast: Bool { rawValue >> 32 == 0x3333 }
}
