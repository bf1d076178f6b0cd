/// What a frame out of a tunnel (a VXLAN port) needs before it is forwarded when a Linux stack on
/// this host sent it (a kernel vxlan device over a veth). Linux builds such frames for a NIC to
/// finish, and none does on the way here; a UDP socket reports no offload metadata, so the frame
/// itself has to say what is left to do:
///
/// - a TCP or UDP checksum that holds only the pseudo-header sum (CHECKSUM_PARTIAL) is completed,
///   or every receiver drops the frame. A complete checksum that happens to have that value (one in
///   65536) is recomputed to the same value, so no correct frame changes;
/// - a TCP super-frame longer than the port's MTU allows (the sender's GSO, passed through the veth
///   whole) is described by a virtio-net header, TCPv4 segmentation into MTU-sized segments, so the
///   switch carries it as it does a TAP's: whole to a port with offloads, cut for one without.
public enum TunnelIngress {
    /// Prepares `frame` from a tunnel port of MTU `mtu`: completes a partial checksum in place, or
    /// returns the header of a TCP super-frame (its checksum left partial, as a super-frame's is).
    /// nil: forward the frame as it is.
    public static func prepare(_ frame: UnsafeMutableRawBufferPointer, mtu: Int) -> VirtioNetHeader? {
        guard let packet = IPv4Transport(frame), packet.hasPartialChecksum(frame) else { return nil }
        if frame.count > mtu + packet.network {
            return superFrameHeader(frame, packet, mtu: mtu)
        }
        packet.completeChecksum(frame)
        return nil
    }

    /// Completes the transport checksum of `frame` (Ethernet, at most one 802.1Q tag, IPv4, an
    /// unfragmented TCP or UDP packet) when its field holds the pseudo-header sum. Returns whether it did.
    public static func completePartialChecksum(in frame: UnsafeMutableRawBufferPointer) -> Bool {
        guard let packet = IPv4Transport(frame), packet.hasPartialChecksum(frame) else { return false }
        packet.completeChecksum(frame)
        return true
    }

    /// The header of a TCP super-frame: segments of at most `mtu` bytes of IP, the partial checksum
    /// finished per segment. nil when the frame is not one (not TCP, padded, headers that do not fit).
    static func superFrameHeader(_ frame: UnsafeMutableRawBufferPointer, _ packet: IPv4Transport, mtu: Int) -> VirtioNetHeader? {
        guard packet.isTCP, packet.network + packet.totalLength == frame.count, packet.length >= 20 else { return nil }
        let tcpHeaderLength = Int(frame[packet.start + 12] >> 4) * 4
        let segmentSize = mtu - packet.ipHeaderLength - tcpHeaderLength
        guard tcpHeaderLength >= 20, tcpHeaderLength <= packet.length, segmentSize > 0 else { return nil }
        return VirtioNetHeader(flags: VirtioNetHeader.needsChecksumFlag, segmentationType: VirtioNetHeader.Segmentation.tcpIPv4.rawValue,
                               headerLength: UInt16(packet.start + tcpHeaderLength), segmentSize: UInt16(segmentSize),
                               checksumStart: UInt16(packet.start), checksumOffset: UInt16(packet.checksumOffset))
    }
}

/// Where an unfragmented IPv4 TCP or UDP packet sits in an Ethernet frame (untagged or with one
/// 802.1Q tag), and its checksum field.
struct IPv4Transport {
    /// Where the IPv4 header starts: after the Ethernet header and tag.
    let network: Int
    let ipHeaderLength: Int
    /// The IPv4 total length: header and transport bytes, without any Ethernet padding.
    let totalLength: Int
    let isTCP: Bool

    var start: Int { network + ipHeaderLength }
    /// The transport header and payload.
    var length: Int { totalLength - ipHeaderLength }
    var checksumOffset: Int { isTCP ? 16 : 6 }
    var checksumField: Int { start + checksumOffset }

    init?(_ frame: UnsafeMutableRawBufferPointer) {
        var network = 14
        guard frame.count >= network + 20 else { return nil }
        var etherType = UInt16(frame[12]) << 8 | UInt16(frame[13])
        if etherType == EtherType.vlan.rawValue {
            network = 18
            guard frame.count >= network + 20 else { return nil }
            etherType = UInt16(frame[16]) << 8 | UInt16(frame[17])
        }
        guard etherType == EtherType.ipv4.rawValue, frame[network] >> 4 == 4 else { return nil }
        let headerLength = Int(frame[network] & 0x0F) * 4
        let totalLength = Int(frame[network + 2]) << 8 | Int(frame[network + 3])
        let fragment = UInt16(frame[network + 6]) << 8 | UInt16(frame[network + 7])
        // The more-fragments flag or an offset: the transport header and its checksum span fragments.
        guard headerLength >= 20, totalLength >= headerLength, network + totalLength <= frame.count, fragment & 0x3FFF == 0 else {
            return nil
        }
        switch frame[network + 9] {
        case IPProtocol.tcp.rawValue: isTCP = true
        case IPProtocol.udp.rawValue: isTCP = false
        default: return nil
        }
        self.network = network
        ipHeaderLength = headerLength
        self.totalLength = totalLength
        guard length >= (isTCP ? 20 : 8) else { return nil }
    }

    /// The checksum field holds the folded pseudo-header sum (source, destination, protocol, length).
    func hasPartialChecksum(_ frame: UnsafeMutableRawBufferPointer) -> Bool {
        func address(_ at: Int) -> IPv4Address { IPv4Address(frame[at], frame[at + 1], frame[at + 2], frame[at + 3]) }
        let stored = UInt16(frame[checksumField]) << 8 | UInt16(frame[checksumField + 1])
        let pseudoHeader = InternetChecksum.pseudoHeader(source: address(network + 12), destination: address(network + 16),
                                                         protocol: isTCP ? .tcp : .udp, length: UInt16(length))
        return stored == pseudoHeader.foldedSum
    }

    /// Finishes a partial checksum as a device does: the sum over the transport bytes, the field
    /// holding the pseudo-header sum, complemented.
    func completeChecksum(_ frame: UnsafeMutableRawBufferPointer) {
        var sum = InternetChecksum()
        sum.add(UnsafeRawBufferPointer(rebasing: frame[start..<(start + length)]))
        var value = sum.value
        // UDP sends 0 as "no checksum": a computed 0 goes out as 0xffff (RFC 768), as the kernel does for both.
        if value == 0 { value = 0xFFFF }
        frame[checksumField] = UInt8(value >> 8)
        frame[checksumField + 1] = UInt8(truncatingIfNeeded: value)
    }
}
