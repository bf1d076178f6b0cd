import L2Wire

/// Seeds: the golden frames of Tests/L2WireTests/Golden.swift (captured and checked with tshark), frames
/// built by L2Wire itself (VLAN, IPv4 options, TCP options), and a few truncated ones.
enum WireSeeds {
    static let vm = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10)
    static let peer = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x64)
    static let vmIP = IPv4Address(10, 10, 0, 10)
    static let peerIP = IPv4Address(10, 10, 0, 100)

    static func hex(_ text: String) -> [UInt8] {
        let digits = text.filter(\.isHexDigit).map { UInt8(String($0), radix: 16)! }
        return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    static let golden: [[UInt8]] = [
        Announce.rarpFrame(for: vm),
        hex("ffffffffffff 005056000064 0806 0001 0800 06 04 0001 005056000064 0a0a0064 000000000000 0a0a000a 000000000000000000000000000000000000"),
        hex("005056000064 005056000010 0806 0001 0800 06 04 0002 005056000010 0a0a000a 005056000064 0a0a0064 000000000000000000000000000000000000"),
        hex("ffffffffffff 005056000064 8100 0064 0806 0001 0800 06 04 0001 005056000064 0a0a0064 000000000000 0a0a000a 0000000000000000000000000000"),
        hex("""
            005056000010 005056000064 0800 4500 0054 1c46 4000 40 01 09e2 0a0a0064 0a0a000a 08 00 7965 0007 0003
            5e1a7f6700000000 d43b0e0000000000 101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637
            """),
        hex("""
            005056000010 005056000064 0800 4500 0024 2a2a 4000 40 11 fc1d 0a0a0064 0a0a000a
            9c40 1e61 0010 7331 6c326d6f74696f6e 00000000000000000000
            """),
        hex("""
            005056000010 005056000064 0800 4500 003c 3344 4000 40 06 f2f6 0a0a0064 0a0a000a
            9c40 1f40 000003e8 00000000 a0 02 faf0 96e3 0000 020405b4 0402 080a 0001e240 00000000 01 030307
            """),
    ]

    static func all() -> [[UInt8]] {
        var seeds = golden
        seeds.append(Announce.gratuitousARPFrame(mac: vm, ip: vmIP))
        seeds.append(Frames.udp(sourceMAC: peer, destinationMAC: vm, vlan: VLANTag(vid: 100, pcp: 5), source: peerIP,
                                destination: vmIP, sourcePort: 5353, destinationPort: 7777, payload: Array("counter 42".utf8)))
        seeds.append(Frames.icmpEcho(sourceMAC: vm, destinationMAC: peer, source: vmIP, destination: peerIP,
                                     type: .echoReply, identifier: 7, sequence: 9, payload: Array(0..<32)))
        let tcp = TCPSegment.build(source: peerIP, destination: vmIP, sourcePort: 40000, destinationPort: 8000,
                                   sequenceNumber: 1000, acknowledgmentNumber: 77, flags: [.ack, .psh, .urg], window: 512,
                                   urgentPointer: 3, options: [1, 1, 1, 0], payload: Array("GET / HTTP/1.0\r\n".utf8))
        seeds.append(EthernetFrame.build(destination: vm, source: peer, etherType: .ipv4,
                                         payload: IPv4Packet.build(source: peerIP, destination: vmIP, protocol: .tcp, payload: tcp)))
        // IPv4 with 4 bytes of options (IHL 6) and a later fragment.
        var options = golden[5]
        options[14] = 0x46
        options.insert(contentsOf: [0x01, 0x01, 0x01, 0x00], at: 34)
        seeds.append(options)
        var fragment = golden[4]
        fragment[20] = 0x20
        fragment[21] = 0x10
        seeds.append(fragment)
        // Truncated: runt, tagged runt, IP header cut, TCP header cut.
        seeds.append(Array(golden[1].prefix(13)))
        seeds.append(Array(golden[3].prefix(17)))
        seeds.append(Array(golden[4].prefix(30)))
        seeds.append(Array(golden[6].prefix(50)))
        return seeds
    }
}
