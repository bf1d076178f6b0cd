import L2Wire

/// The VM's TCP as frames: it finds the TCP segments addressed to the VM, checks their checksums,
/// hands them to the `TCPStack` (whose every connection lives in guest memory) with the VM's
/// services, and wraps what the stack sends in IPv4 or IPv6 and Ethernet, to the MAC the neighbour
/// cache (guest memory too) last saw the peer with.
public struct GuestTCP {
    public private(set) var stack: TCPStack
    public let services: [any TCPService]
    public let mac: MACAddress
    public let ipv4: IPv4Address
    public let ipv6: [IPv6Address]

    /// The TCP of a VM with `pageCount` pages of memory, or nil when it is too small for a network region.
    public init?(mac: MACAddress, ipv4: IPv4Address, ipv6: [IPv6Address], services: [any TCPService], pageCount: Int) {
        guard let region = GuestLayout.networkRegion(pageCount: pageCount) else { return nil }
        stack = TCPStack(region: region)
        self.services = services
        self.mac = mac
        self.ipv4 = ipv4
        self.ipv6 = ipv6
    }

    /// A TCP segment addressed to this VM, as found in a frame.
    public struct Incoming {
        public let segment: TCPSegment
        public let remote: IPAddress
        public let local: IPAddress
        /// The sender's MAC (the neighbour cache learns it).
        public let sourceMAC: MACAddress
    }

    /// The TCP segment in `frame` if it is one for this VM; nil otherwise (the responder's business).
    public func incoming(_ frame: EthernetFrame) -> Incoming? {
        guard frame.destination == mac else { return nil }
        if frame.etherType == .ipv4 {
            guard let packet = try? IPv4Packet(frame.payload), packet.destination == ipv4, packet.protocol == .tcp,
                  !packet.isLaterFragment, !packet.moreFragments, packet.isChecksumValid,
                  let segment = try? TCPSegment(packet.payload) else { return nil }
            return Incoming(segment: segment, remote: .v4(packet.source), local: .v4(ipv4), sourceMAC: frame.source)
        }
        if frame.etherType == .ipv6 {
            guard let packet = try? IPv6Packet(frame.payload), packet.nextHeader == .tcp, ipv6.contains(packet.destination),
                  !packet.source.isMulticast, !packet.source.isUnspecified,
                  let segment = try? TCPSegment(packet.payload) else { return nil }
            return Incoming(segment: segment, remote: .v6(packet.source), local: .v6(packet.destination), sourceMAC: frame.source)
        }
        return nil
    }

    /// Answers a segment found by `incoming`: checksum, neighbour cache, the stack; the frames to send.
    public mutating func answer(_ incoming: Incoming, now: UInt64, memory: GuestMemory, context: ServiceContext) -> [[UInt8]] {
        guard incoming.segment.isChecksumValid(source: incoming.remote, destination: incoming.local) else {
            stack.statistics.droppedBadChecksum += 1
            return []
        }
        NeighborCache.learn(incoming.remote, mac: incoming.sourceMAC, memory: memory)
        let out = stack.receive(incoming.segment, from: incoming.remote, to: incoming.local, now: now, memory: memory,
                                services: services, context: context)
        return frames(out, memory: memory)
    }

    /// The stack's timers (retransmissions, window probes, TIME-WAIT): the frames they send.
    public mutating func tick(now: UInt64, memory: GuestMemory, context: ServiceContext) -> [[UInt8]] {
        frames(stack.tick(now: now, memory: memory, services: services, context: context), memory: memory)
    }

    func frames(_ segments: [TCPOutgoingSegment], memory: GuestMemory) -> [[UInt8]] {
        segments.compactMap { outgoing in
            guard let peer = NeighborCache.lookup(outgoing.remote, memory: memory) else { return nil }
            switch (outgoing.local, outgoing.remote) {
            case let (.v4(source), .v4(destination)):
                let packet = IPv4Packet.build(source: source, destination: destination, protocol: .tcp, payload: outgoing.segment)
                return EthernetFrame.build(destination: peer, source: mac, etherType: .ipv4, payload: packet)
            case let (.v6(source), .v6(destination)):
                let packet = IPv6Packet.build(source: source, destination: destination, nextHeader: .tcp, payload: outgoing.segment)
                return EthernetFrame.build(destination: peer, source: mac, etherType: .ipv6, payload: packet)
            default:
                return nil
            }
        }
    }
}
