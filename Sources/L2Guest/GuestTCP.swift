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

    /// The TCP segment in `frame` if it is one for this VM: (segment, remote, local); nil otherwise.
    public func segment(in frame: EthernetFrame) -> (TCPSegment, remote: IPAddress, local: IPAddress)? {
        guard frame.destination == mac else { return nil }
        if frame.etherType == .ipv4 {
            guard let packet = try? IPv4Packet(frame.payload), packet.destination == ipv4, packet.protocol == .tcp,
                  !packet.isLaterFragment, !packet.moreFragments, packet.isChecksumValid,
                  let segment = try? TCPSegment(packet.payload) else { return nil }
            return (segment, .v4(packet.source), .v4(ipv4))
        }
        if frame.etherType == .ipv6 {
            guard let packet = try? IPv6Packet(frame.payload), packet.nextHeader == .tcp, ipv6.contains(packet.destination),
                  !packet.source.isMulticast, !packet.source.isUnspecified,
                  let segment = try? TCPSegment(packet.payload) else { return nil }
            return (segment, .v6(packet.source), .v6(packet.destination))
        }
        return nil
    }

    /// Answers a TCP frame for this VM (nil: not TCP for this VM, the responder's business).
    public mutating func handle(_ frame: EthernetFrame, now: UInt64, memory: GuestMemory, context: ServiceContext) -> [[UInt8]]? {
        guard let (segment, remote, local) = segment(in: frame) else { return nil }
        guard Self.checksumValid(segment, remote: remote, local: local) else {
            stack.statistics.droppedBadChecksum += 1
            return []
        }
        NeighborCache.learn(remote, mac: frame.source, memory: memory)
        let out = stack.receive(segment, from: remote, to: local, now: now, memory: memory, services: services, context: context)
        return frames(out, memory: memory)
    }

    /// The stack's timers (retransmissions, window probes, TIME-WAIT): the frames they send.
    public mutating func tick(now: UInt64, memory: GuestMemory, context: ServiceContext) -> [[UInt8]] {
        frames(stack.tick(now: now, memory: memory, services: services, context: context), memory: memory)
    }

    static func checksumValid(_ segment: TCPSegment, remote: IPAddress, local: IPAddress) -> Bool {
        switch (remote, local) {
        case let (.v4(source), .v4(destination)):
            return segment.isChecksumValid(source: source, destination: destination)
        case let (.v6(source), .v6(destination)):
            var checksum = InternetChecksum.pseudoHeader(source: source, destination: destination, protocol: .tcp,
                                                         length: UInt32(segment.bytes.count))
            checksum.add(segment.bytes)
            return checksum.value == 0
        default:
            return false
        }
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
