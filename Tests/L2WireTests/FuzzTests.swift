import Testing
@testable import L2Wire

@Suite("Random input never traps")
struct FuzzTests {
    /// Runs every parser and accessor over `bytes`; returns how many layers parsed.
    @discardableResult
    static func exercise(_ bytes: ArraySlice<UInt8>) -> Int {
        var parsed = 0
        _ = describe(frame: bytes)
        if let frame = try? EthernetFrame(bytes) {
            parsed += 1
            _ = (frame.source, frame.destination, frame.vlan, frame.etherType, frame.payload.count)
            _ = Frames.arpReply(to: frame, ip: Golden.vmIP, mac: Golden.vmMAC)
            _ = Frames.icmpEchoReply(to: frame, ip: Golden.vmIP, mac: Golden.vmMAC)
        }
        if let arp = try? ARPPacket(parsing: bytes) { parsed += 1; _ = (arp.description, arp.bytes) }
        if let ip = try? IPv4Packet(bytes) {
            parsed += 1
            _ = (ip.description, ip.isChecksumValid, ip.options.count, ip.payload.count, ip.fragmentOffset)
        }
        if let icmp = try? ICMPv4Message(bytes) {
            parsed += 1
            _ = (icmp.description, icmp.isChecksumValid, icmp.payload.count, try? ICMPEchoMessage(icmp))
            _ = ICMPEchoMessage.reply(to: icmp)
        }
        if let ip6 = try? IPv6Packet(bytes) {
            parsed += 1
            _ = (ip6.description, ip6.trafficClass, ip6.flowLabel, ip6.hasExtensionHeaders, ip6.payload.count)
        }
        if let icmp6 = try? ICMPv6Message(bytes) {
            parsed += 1
            _ = (icmp6.description, icmp6.isChecksumValid(source: .unspecified, destination: .allNodes), icmp6.body.count,
                 try? ICMPv6Echo(icmp6), try? NeighborSolicitation(icmp6), try? NeighborAdvertisement(icmp6))
        }
        if let udp = try? UDPDatagram(bytes) {
            parsed += 1
            _ = (udp.description, udp.isChecksumValid(source: .any, destination: .any), udp.payload.count)
        }
        if let tcp = try? TCPSegment(bytes) {
            parsed += 1
            _ = (tcp.description, tcp.isChecksumValid(source: .any, destination: .any), tcp.options.count)
        }
        return parsed
    }

    @Test("5,000 random byte arrays of random lengths, at random slice offsets")
    func randomBytes() {
        var rng = SplitMix64(seed: 0x1234_5678)
        var totalParsed = 0
        for _ in 0..<5000 {
            let length = Int.random(in: 0...120, using: &rng)
            let offset = Int.random(in: 0...5, using: &rng)
            let buffer = (0..<(length + offset)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            totalParsed += Self.exercise(buffer[offset...])
        }
        #expect(totalParsed > 1000)  // the loop really reached the accessors, not just the errors
    }

    @Test("golden frames with random bytes mutated or cut parse or throw, never trap")
    func mutatedGolden() {
        var rng = SplitMix64(seed: 42)
        let goldens = [Golden.rarp, Golden.arpRequest, Golden.arpReply, Golden.vlanARPRequest,
                       Golden.icmpEchoRequest, Golden.udp, Golden.tcpSYN]
        var deepParses = 0
        for _ in 0..<5000 {
            var bytes = goldens.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))
            let text = describe(frame: bytes)
            if text.contains(": ") && !text.contains("malformed") { deepParses += 1 }
            Self.exercise(bytes[...])
            if bytes.count > 14 { Self.exercise(bytes[14...]) }
            if bytes.count > 34 { Self.exercise(bytes[34...].prefix(60)) }
        }
        #expect(deepParses > 100)
    }

    @Test("IPv6 golden frames with random bytes mutated or cut parse or throw, never trap")
    func mutatedIPv6Golden() {
        var rng = SplitMix64(seed: 6)
        let goldens = [GoldenIPv6.solicitation, GoldenIPv6.advertisement, GoldenIPv6.echoRequest, GoldenIPv6.unsolicitedLinkLocal]
        var deepParses = 0
        for _ in 0..<3000 {
            var bytes = goldens.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                bytes[Int.random(in: 14..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            // Half are cut somewhere (mostly truncation errors), half keep their length (deep parses).
            if Bool.random(using: &rng) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng))) }
            if describe(frame: bytes).contains("ICMP6, ") { deepParses += 1 }
            Self.exercise(bytes[...])
            if bytes.count > 14 { Self.exercise(bytes[14...]) }
            if bytes.count > 54 { Self.exercise(bytes[54...]) }
        }
        #expect(deepParses > 300)
    }
}
