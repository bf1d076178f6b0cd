import L2Wire

/// The VM's IPv6 side: Neighbor Discovery and ICMPv6 echo for its addresses. Pure: frame in,
/// reply out, counters in the caller's `ResponderStatistics`.
///
/// - Neighbor Solicitation for one of its addresses (unicast to it, or to its solicited-node group
///   with Ethernet destination 33:33:ff:…): a solicited Neighbor Advertisement (S and O set, target
///   link-layer address option) to the solicitor's address and MAC (its source link-layer address
///   option, else the frame's source). A duplicate address detection probe (from `::`) is answered
///   to all nodes (`ff02::1`) with S clear, defending the address (RFC 4861 section 7.2.4).
/// - ICMPv6 echo request to one of its addresses: an echo reply from that address, hop limit 64.
/// - Unsolicited Neighbor Advertisements for each address (`unsolicitedAdvertisements()`), sent
///   after a migration so neighbours update their caches at once.
///
/// Ignored (nil): NDP with a hop limit other than 255 or a non-zero code (RFC 4861 7.1.1), any bad
/// checksum, a malformed option, extension headers, multicast echo requests, other addresses.
/// Replies keep the request's 802.1Q tag, if any.
public struct IPv6Responder: Hashable, Sendable {
    public let mac: MACAddress
    /// Every address the VM answers for: its EUI-64 link-local first, then the configured ones.
    public let addresses: [IPv6Address]

    /// `interfaces` are the configured (non-link-local) addresses; the link-local one is always added.
    public init(mac: MACAddress, interfaces: [IPv6Interface]) {
        self.mac = mac
        let linkLocal = IPv6Address.linkLocal(eui64: mac)
        addresses = [linkLocal] + interfaces.map(\.address).filter { $0 != linkLocal }
    }

    /// True for an Ethernet destination an IPv6 frame for this VM may carry: its MAC, the all-nodes
    /// MAC 33:33:00:00:00:01 or the MAC of one of its solicited-node groups.
    public func listens(to destination: MACAddress) -> Bool {
        destination == mac || destination == IPv6Address.allNodes.multicastMAC
            || addresses.contains { $0.solicitedNode.multicastMAC == destination }
    }

    /// The reply to an IPv6 frame, or nil when it is ignored; counts what it answered.
    public func handle(_ frame: EthernetFrame, statistics: inout ResponderStatistics) -> [UInt8]? {
        guard let packet = try? IPv6Packet(frame.payload), !packet.hasExtensionHeaders, packet.nextHeader == .icmpv6,
              let message = try? ICMPv6Message(packet.payload),
              message.isChecksumValid(source: packet.source, destination: packet.destination) else { return nil }
        switch message.type {
        case .neighborSolicitation:
            guard let reply = advertisement(answering: message, in: packet, frame: frame) else { return nil }
            statistics.neighborAdvertisements += 1
            return reply
        case .echoRequest:
            guard addresses.contains(packet.destination), !packet.source.isMulticast,
                  let echo = try? ICMPv6Echo(message) else { return nil }
            statistics.echoV6Replies += 1
            return Frames.icmpv6Echo(sourceMAC: mac, destinationMAC: frame.source, vlan: frame.vlan,
                                     source: packet.destination, destination: packet.source, type: .echoReply,
                                     identifier: echo.identifier, sequence: echo.sequence, payload: echo.payload, hopLimit: 64)
        default:
            return nil
        }
    }

    /// One unsolicited Neighbor Advertisement per address (override set, solicited clear, to all nodes).
    public func unsolicitedAdvertisements(statistics: inout ResponderStatistics) -> [[UInt8]] {
        statistics.unsolicitedNAs += addresses.count
        return addresses.map { Frames.unsolicitedNeighborAdvertisement(mac: mac, address: $0) }
    }

    private func advertisement(answering message: ICMPv6Message, in packet: IPv6Packet, frame: EthernetFrame) -> [UInt8]? {
        guard packet.hopLimit == 255, let solicitation = try? NeighborSolicitation(message),
              addresses.contains(solicitation.target),
              packet.destination == solicitation.target || packet.destination == solicitation.target.solicitedNode
        else { return nil }
        if packet.source.isUnspecified {
            // Duplicate address detection: only to the solicited-node group, never with a source link-layer address.
            guard packet.destination.isSolicitedNodeMulticast, solicitation.sourceLinkLayerAddress == nil else { return nil }
            return Frames.neighborAdvertisement(sourceMAC: mac, destinationMAC: IPv6Address.allNodes.multicastMAC, vlan: frame.vlan,
                                                target: solicitation.target, destination: .allNodes, solicited: false, override: true)
        }
        guard !packet.source.isMulticast else { return nil }
        return Frames.neighborAdvertisement(sourceMAC: mac, destinationMAC: solicitation.sourceLinkLayerAddress ?? frame.source,
                                            vlan: frame.vlan, target: solicitation.target, destination: packet.source,
                                            solicited: true, override: true)
    }
}
