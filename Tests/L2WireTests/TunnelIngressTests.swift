import Testing
@testable import L2Wire

/// Frames as a Linux vxlan device on the same host hands them to a userspace tunnel end: checksums
/// left partial (the pseudo-header sum in the field), TCP super-frames whole.
@Suite("tunnel ingress: partial checksums and super-frames")
struct TunnelIngressTests {
    static let source = IPv4Address(10, 252, 0, 2), destination = IPv4Address(10, 252, 0, 1)
    static let timestamps: [UInt8] = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]

    /// Ethernet (optionally tagged) + IPv4 + TCP with `payload` bytes, every checksum correct.
    static func tcpFrame(payload: Int, vlan: VLANTag? = nil, fragment: UInt16 = 0x4000) -> [UInt8] {
        let segment = TCPSegment.build(source: source, destination: destination, sourcePort: 5201, destinationPort: 40000,
                                       sequenceNumber: 1000, acknowledgmentNumber: 1, flags: .ack, window: 512,
                                       options: timestamps, payload: (0..<payload).map { UInt8(truncatingIfNeeded: $0 * 7) })
        var packet = IPv4Packet.build(source: source, destination: destination, protocol: .tcp, payload: segment)
        packet[6] = UInt8(fragment >> 8)
        packet[7] = UInt8(truncatingIfNeeded: fragment)
        return EthernetFrame.build(destination: MACAddress(2, 0, 0, 0, 0, 1), source: MACAddress(2, 0, 0, 0, 0, 2), vlan: vlan,
                                   etherType: .ipv4, payload: packet)
    }

    static func udpFrame() -> [UInt8] {
        Frames.udp(sourceMAC: MACAddress(2, 0, 0, 0, 0, 2), destinationMAC: MACAddress(2, 0, 0, 0, 0, 1), source: source,
                   destination: destination, sourcePort: 4000, destinationPort: 9, payload: Array("l2motion over vxlan".utf8))
    }

    /// `frame` with its transport checksum replaced by the folded pseudo-header sum, as Linux leaves
    /// it for the device (CHECKSUM_PARTIAL).
    static func partial(_ frame: [UInt8], network: Int = 14) -> [UInt8] {
        var bytes = frame
        let headerLength = Int(bytes[network] & 0x0F) * 4
        let total = Int(bytes[network + 2]) << 8 | Int(bytes[network + 3])
        let isTCP = bytes[network + 9] == 6
        let field = network + headerLength + (isTCP ? 16 : 6)
        let sum = InternetChecksum.pseudoHeader(source: source, destination: destination, protocol: isTCP ? .tcp : .udp,
                                                length: UInt16(total - headerLength)).foldedSum
        bytes[field] = UInt8(sum >> 8)
        bytes[field + 1] = UInt8(truncatingIfNeeded: sum)
        return bytes
    }

    static func prepare(_ frame: inout [UInt8], mtu: Int = 1500) -> VirtioNetHeader? {
        frame.withUnsafeMutableBytes { TunnelIngress.prepare($0, mtu: mtu) }
    }

    @Test("a partial TCP or UDP checksum is completed to the correct one", arguments: [false, true])
    func completesPartial(udp: Bool) {
        let correct = udp ? Self.udpFrame() : Self.tcpFrame(payload: 100)
        var frame = Self.partial(correct)
        #expect(frame != correct, "the partial checksum differs from the full one")
        #expect(Self.prepare(&frame) == nil, "an ordinary frame needs no header")
        #expect(frame == correct)
    }

    @Test("an 802.1Q-tagged frame's partial checksum is completed too")
    func tagged() {
        let correct = Self.tcpFrame(payload: 10, vlan: VLANTag(vid: 10))
        var frame = Self.partial(correct, network: 18)
        #expect(Self.prepare(&frame) == nil)
        #expect(frame == correct)
    }

    @Test("a complete checksum, a wrong one, a fragment and a non-IP frame are left as they are")
    func leftAlone() {
        for correct in [Self.tcpFrame(payload: 100), Self.udpFrame()] {
            var frame = correct
            #expect(Self.prepare(&frame) == nil && frame == correct)
            var corrupted = correct
            corrupted[corrupted.count - 1] ^= 0xFF
            let before = corrupted
            #expect(Self.prepare(&corrupted) == nil && corrupted == before, "a corrupted frame is not repaired")
        }
        var fragment = Self.partial(Self.tcpFrame(payload: 100, fragment: 0x2000))
        let fragmentBefore = fragment
        #expect(Self.prepare(&fragment) == nil && fragment == fragmentBefore, "a first fragment (MF set) is not touched")
        var arp = [UInt8](repeating: 0xFF, count: 6) + [2, 0, 0, 0, 0, 2, 0x08, 0x06] + [UInt8](repeating: 0, count: 28)
        let arpBefore = arp
        #expect(Self.prepare(&arp) == nil && arp == arpBefore)
    }

    @Test("a TCP super-frame longer than the MTU gets a GSO header for MTU-sized segments; its checksum stays partial")
    func superFrame() throws {
        let whole = Self.partial(Self.tcpFrame(payload: 20_000))
        var frame = whole
        let header = try #require(Self.prepare(&frame, mtu: 1500))
        #expect(frame == whole, "a super-frame's partial checksum is finished per segment, not here")
        #expect(header.segmentation == .tcpIPv4 && header.needsChecksum)
        #expect(header.checksumStart == 34 && header.checksumOffset == 16)
        #expect(header.headerLength == 34 + 32 && header.segmentSize == 1500 - 20 - 32)
        #expect(frame.withUnsafeBytes { header.problem(with: $0) } == nil)
        #expect(frame.withUnsafeBytes { header.largestWireFrame(of: $0) } == 1514, "each segment fits the port's MTU")
        // The same bytes with a port MTU that holds them are an ordinary frame: completed.
        var jumbo = Self.partial(Self.tcpFrame(payload: 8000))
        #expect(Self.prepare(&jumbo, mtu: 9000) == nil && jumbo == Self.tcpFrame(payload: 8000))
    }

    @Test("a frame over the MTU that is no partial TCP super-frame gets no header (the switch drops it as oversize)")
    func notASuperFrame() {
        var complete = Self.tcpFrame(payload: 3000)
        #expect(Self.prepare(&complete) == nil, "a full checksum cannot be finished per segment")
        var padded = Self.partial(Self.tcpFrame(payload: 3000)) + [0, 0, 0, 0]
        #expect(Self.prepare(&padded) == nil, "bytes beyond the IP packet: not a super-frame")
    }
}
