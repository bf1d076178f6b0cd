/// Whole-frame builders for IPv6: Ethernet + IPv6 + ICMPv6 echo, Neighbor Solicitation and
/// Neighbor Advertisement (solicited, unsolicited), checksums filled, padded to 60 bytes.
extension Frames {
    /// Ethernet + IPv6 + any ICMPv6 message (already checksummed for these addresses).
    public static func icmpv6<Message: Collection>(
        sourceMAC: MACAddress, destinationMAC: MACAddress, vlan: VLANTag? = nil,
        source: IPv6Address, destination: IPv6Address, message: Message, hopLimit: UInt8 = 64
    ) -> [UInt8] where Message.Element == UInt8 {
        let packet = IPv6Packet.build(source: source, destination: destination, nextHeader: .icmpv6,
                                      payload: message, hopLimit: hopLimit)
        return EthernetFrame.build(destination: destinationMAC, source: sourceMAC, vlan: vlan, etherType: .ipv6, payload: packet)
    }

    /// Ethernet + IPv6 + ICMPv6 echo request or reply.
    public static func icmpv6Echo<Payload: Collection>(
        sourceMAC: MACAddress, destinationMAC: MACAddress, vlan: VLANTag? = nil,
        source: IPv6Address, destination: IPv6Address, type: ICMPv6Type = .echoRequest,
        identifier: UInt16, sequence: UInt16, payload: Payload, hopLimit: UInt8 = 64
    ) -> [UInt8] where Payload.Element == UInt8 {
        let echo = ICMPv6Echo(type: type, identifier: identifier, sequence: sequence, payload: Array(payload))
        return icmpv6(sourceMAC: sourceMAC, destinationMAC: destinationMAC, vlan: vlan, source: source,
                      destination: destination, message: echo.bytes(source: source, destination: destination), hopLimit: hopLimit)
    }

    /// A Neighbor Solicitation for `target` from `source` (hop limit 255): to `target`'s
    /// solicited-node group and its 33:33:ff MAC unless `destination` is given (a unicast probe);
    /// with the source link-layer address option unless `source` is `::` (duplicate address detection).
    public static func neighborSolicitation(
        sourceMAC: MACAddress, vlan: VLANTag? = nil, source: IPv6Address, target: IPv6Address,
        destination: IPv6Address? = nil, destinationMAC: MACAddress? = nil
    ) -> [UInt8] {
        let to = destination ?? target.solicitedNode
        let ns = NeighborSolicitation(target: target, options: source.isUnspecified ? [] : [.sourceLinkLayerAddress(sourceMAC)])
        return icmpv6(sourceMAC: sourceMAC, destinationMAC: destinationMAC ?? to.multicastMAC, vlan: vlan, source: source,
                      destination: to, message: ns.bytes(source: source, destination: to), hopLimit: 255)
    }

    /// A Neighbor Advertisement for `target` at `sourceMAC` (hop limit 255, target link-layer
    /// address option), from `target` itself.
    public static func neighborAdvertisement(
        sourceMAC: MACAddress, destinationMAC: MACAddress, vlan: VLANTag? = nil, target: IPv6Address,
        destination: IPv6Address, solicited: Bool, override: Bool = true
    ) -> [UInt8] {
        let na = NeighborAdvertisement(solicited: solicited, override: override, target: target,
                                       options: [.targetLinkLayerAddress(sourceMAC)])
        return icmpv6(sourceMAC: sourceMAC, destinationMAC: destinationMAC, vlan: vlan, source: target,
                      destination: destination, message: na.bytes(source: target, destination: destination), hopLimit: 255)
    }

    /// The unsolicited Neighbor Advertisement a node sends when its link-layer address changed
    /// (RFC 4861 section 7.2.6), as Linux does after a migration: from `address` to all nodes
    /// (`ff02::1`, 33:33:00:00:00:01), override set, solicited clear, target link-layer address `mac`.
    public static func unsolicitedNeighborAdvertisement(mac: MACAddress, address: IPv6Address, vlan: VLANTag? = nil) -> [UInt8] {
        neighborAdvertisement(sourceMAC: mac, destinationMAC: IPv6Address.allNodes.multicastMAC, vlan: vlan, target: address,
                              destination: .allNodes, solicited: false, override: true)
    }
}
