/// Whole-frame builders for the few frames a small guest network stack sends:
/// Ethernet + IPv4 + UDP, Ethernet + IPv4 + ICMP echo, and replies to ARP and echo requests.
public enum Frames {
    /// Ethernet + IPv4 + UDP, checksums filled, padded to 60 bytes.
    public static func udp<Payload: Collection>(
        sourceMAC: MACAddress, destinationMAC: MACAddress, vlan: VLANTag? = nil,
        source: IPv4Address, destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16,
        payload: Payload, ttl: UInt8 = 64, identification: UInt16 = 0
    ) -> [UInt8] where Payload.Element == UInt8 {
        let datagram = UDPDatagram.build(source: source, destination: destination,
                                         sourcePort: sourcePort, destinationPort: destinationPort, payload: payload)
        let packet = IPv4Packet.build(source: source, destination: destination, protocol: .udp,
                                      payload: datagram, ttl: ttl, identification: identification)
        return EthernetFrame.build(destination: destinationMAC, source: sourceMAC, vlan: vlan,
                                   etherType: .ipv4, payload: packet)
    }

    /// Ethernet + IPv4 + ICMP echo request or reply, checksums filled, padded to 60 bytes.
    public static func icmpEcho<Payload: Collection>(
        sourceMAC: MACAddress, destinationMAC: MACAddress, vlan: VLANTag? = nil,
        source: IPv4Address, destination: IPv4Address, type: ICMPType = .echoRequest,
        identifier: UInt16, sequence: UInt16, payload: Payload, ttl: UInt8 = 64, identification: UInt16 = 0
    ) -> [UInt8] where Payload.Element == UInt8 {
        let message = ICMPEchoMessage.build(type: type, identifier: identifier, sequence: sequence, payload: payload)
        let packet = IPv4Packet.build(source: source, destination: destination, protocol: .icmp,
                                      payload: message, ttl: ttl, identification: identification)
        return EthernetFrame.build(destination: destinationMAC, source: sourceMAC, vlan: vlan,
                                   etherType: .ipv4, payload: packet)
    }

    /// If `frame` is an ARP request for `ip`, the ARP reply frame from `mac` (same VLAN); else nil.
    public static func arpReply(to frame: EthernetFrame, ip: IPv4Address, mac: MACAddress) -> [UInt8]? {
        guard frame.etherType == .arp, let request = try? ARPPacket(parsing: frame.payload),
              request.operation == .request, request.targetIP == ip else { return nil }
        return EthernetFrame.build(destination: request.senderMAC, source: mac, vlan: frame.vlan,
                                   etherType: .arp, payload: ARPPacket.reply(to: request, mac: mac).bytes)
    }

    /// If `frame` is a valid IPv4 ICMP echo request addressed to `ip`, the echo reply frame from `mac`
    /// (back to the sender's MAC and IP, same VLAN, same id, sequence and payload); else nil.
    public static func icmpEchoReply(to frame: EthernetFrame, ip: IPv4Address, mac: MACAddress,
                                     ttl: UInt8 = 64) -> [UInt8]? {
        guard frame.etherType == .ipv4, let packet = try? IPv4Packet(frame.payload),
              packet.destination == ip, packet.protocol == .icmp, !packet.isLaterFragment, !packet.moreFragments,
              packet.isChecksumValid,
              let message = try? ICMPv4Message(packet.payload),
              let reply = ICMPEchoMessage.reply(to: message) else { return nil }
        let ipReply = IPv4Packet.build(source: ip, destination: packet.source, protocol: .icmp,
                                       payload: reply, ttl: ttl, identification: packet.identification)
        return EthernetFrame.build(destination: frame.source, source: mac, vlan: frame.vlan,
                                   etherType: .ipv4, payload: ipReply)
    }
}
