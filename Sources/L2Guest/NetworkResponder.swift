import L2Wire

/// What a VM's network responder has answered and ignored.
///
/// Decodes JSON from hosts that predate a counter (a missing counter is 0).
public struct ResponderStatistics: Hashable, Sendable, Codable {
    public var arpReplies = 0
    public var echoReplies = 0
    public var udpReplies = 0
    public var gratuitousARPs = 0
    /// IPv6: Neighbor Advertisements answering a solicitation (`IPv6Responder`).
    public var neighborAdvertisements = 0
    /// IPv6: ICMPv6 echo replies.
    public var echoV6Replies = 0
    /// IPv6: unsolicited Neighbor Advertisements sent (one per address per announce round).
    public var unsolicitedNAs = 0
    /// Frames not for this VM, not understood, or failing a checksum.
    public var ignored = 0

    public init() {}

    /// Frames answered with a reply.
    public var answered: Int { arpReplies + echoReplies + udpReplies + neighborAdvertisements + echoV6Replies }

    /// Every counter and its JSON key: the one list encoding and decoding use, so a counter added
    /// here is coded and one missing from a host's JSON reads 0 (a test checks it names every property).
    static var counters: [(key: String, path: WritableKeyPath<ResponderStatistics, Int>)] {
        [("arpReplies", \.arpReplies), ("echoReplies", \.echoReplies), ("udpReplies", \.udpReplies),
         ("gratuitousARPs", \.gratuitousARPs), ("neighborAdvertisements", \.neighborAdvertisements),
         ("echoV6Replies", \.echoV6Replies), ("unsolicitedNAs", \.unsolicitedNAs), ("ignored", \.ignored)]
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        for (key, path) in Self.counters { self[keyPath: path] = try container.decodeIfPresent(Int.self, forKey: AnyKey(key)) ?? 0 }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        for (key, path) in Self.counters { try container.encode(self[keyPath: path], forKey: AnyKey(key)) }
    }
}

/// The VM's tiny network stack: frame bytes in, reply frames out. Pure — the only state outside the
/// statistics is the UDP service's counter, which lives in guest memory so it migrates with the VM.
///
/// - ARP: answers requests for its IP (broadcast or unicast to its MAC) with a reply.
/// - ICMP: answers echo requests to its IP with an echo reply (same id, sequence and payload;
///   IP and ICMP checksums computed; TTL 64). Requests with a bad checksum are ignored.
/// - UDP port 7777: increments the 64-bit little-endian counter at `counterOffset` in guest memory
///   and replies with the new value as 8 bytes big-endian followed by the request's payload (cut to
///   `maximumEcho` bytes so the reply fits a 1500-byte MTU). The reply comes from port 7777 to the
///   request's source port.
///
/// - IPv6: Neighbor Discovery and ICMPv6 echo for its addresses (`IPv6Responder`).
///
/// Anything else — other MACs, other IPs, IP fragments, bad checksums, other ports — is ignored.
/// Replies keep the request's 802.1Q tag, if any.
public struct NetworkResponder: Sendable {
    public static let udpPort: UInt16 = 7777
    /// The most request payload a UDP reply echoes: 1500 − 20 (IP) − 8 (UDP) − 8 (counter).
    public static let maximumEcho = 1_464

    public let mac: MACAddress
    public let ip: IPv4Address
    public let counterOffset: Int
    /// IPv6: the link-local address and `ipv6` (see `IPv6Responder`).
    public let ipv6: IPv6Responder
    public private(set) var statistics = ResponderStatistics()

    public init(mac: MACAddress, ip: IPv4Address, ipv6: [IPv6Interface] = [], counterOffset: Int = GuestLayout.udpCounterOffset) {
        self.mac = mac
        self.ip = ip
        self.ipv6 = IPv6Responder(mac: mac, interfaces: ipv6)
        self.counterOffset = counterOffset
    }

    /// The UDP service counter as it is now in guest memory.
    public func counter(in memory: GuestMemory) -> UInt64 { memory.loadUInt64(at: counterOffset) }

    /// The reply to `frame`, or nil when the frame is ignored.
    public mutating func handle(frame bytes: ArraySlice<UInt8>, memory: GuestMemory) -> [UInt8]? {
        guard let frame = try? EthernetFrame(bytes), frame.destination == mac || frame.destination.isBroadcast
                || (frame.etherType == .ipv6 && ipv6.listens(to: frame.destination)) else {
            statistics.ignored += 1
            return nil
        }
        let reply: [UInt8]?
        switch frame.etherType {
        case .arp:
            reply = Frames.arpReply(to: frame, ip: ip, mac: mac)
            if reply != nil { statistics.arpReplies += 1 }
        case .ipv4 where frame.destination == mac:
            reply = ipv4Reply(to: frame, memory: memory)
        case .ipv6:
            reply = ipv6.handle(frame, statistics: &statistics)
        default:
            reply = nil
        }
        if reply == nil { statistics.ignored += 1 }
        return reply
    }

    /// The guest page answering `frame` would touch (the UDP service's counter), or nil: ARP and ICMP
    /// answers need no guest memory.
    public func page(touchedBy frame: ArraySlice<UInt8>) -> Int? {
        guard let ethernet = try? EthernetFrame(frame), ethernet.etherType == .ipv4, ethernet.destination == mac,
              let packet = try? IPv4Packet(ethernet.payload), packet.destination == ip, packet.protocol == .udp,
              let datagram = try? UDPDatagram(packet.payload), datagram.destinationPort == Self.udpPort else { return nil }
        return counterOffset >> GuestMemory.pageShift
    }

    /// The reply to a frame held in an array.
    public mutating func handle(frame: [UInt8], memory: GuestMemory) -> [UInt8]? {
        handle(frame: frame[...], memory: memory)
    }

    /// A broadcast gratuitous ARP request announcing this VM's IP at its MAC (60 bytes).
    public mutating func gratuitousARP() -> [UInt8] {
        statistics.gratuitousARPs += 1
        return Announce.gratuitousARPFrame(mac: mac, ip: ip)
    }

    /// IPv6: one unsolicited Neighbor Advertisement per address (to all nodes, override set).
    public mutating func unsolicitedNeighborAdvertisements() -> [[UInt8]] {
        ipv6.unsolicitedAdvertisements(statistics: &statistics)
    }

    private mutating func ipv4Reply(to frame: EthernetFrame, memory: GuestMemory) -> [UInt8]? {
        guard let packet = try? IPv4Packet(frame.payload), packet.destination == ip,
              !packet.isLaterFragment, !packet.moreFragments, packet.isChecksumValid else { return nil }
        switch packet.protocol {
        case .icmp:
            let reply = Frames.icmpEchoReply(to: frame, ip: ip, mac: mac, ttl: 64)
            if reply != nil { statistics.echoReplies += 1 }
            return reply
        case .udp:
            guard let datagram = try? UDPDatagram(packet.payload), datagram.destinationPort == Self.udpPort,
                  datagram.isChecksumValid(source: packet.source, destination: ip) else { return nil }
            let value = memory.loadUInt64(at: counterOffset) &+ 1
            memory.storeUInt64(value, at: counterOffset)
            var payload: [UInt8] = []
            payload.reserveCapacity(8 + min(datagram.payload.count, Self.maximumEcho))
            for shift in stride(from: 56, through: 0, by: -8) { payload.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
            payload.append(contentsOf: datagram.payload.prefix(Self.maximumEcho))
            statistics.udpReplies += 1
            return Frames.udp(sourceMAC: mac, destinationMAC: frame.source, vlan: frame.vlan, source: ip,
                              destination: packet.source, sourcePort: Self.udpPort,
                              destinationPort: datagram.sourcePort, payload: payload,
                              identification: packet.identification)
        default:
            return nil
        }
    }
}
