import L2Wire

/// Golden frames. Checksums were computed independently (Python) and confirmed by tshark
/// ("[correct]" with checksum validation on) before being pasted here.
enum Golden {
    static let vmMAC = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10)
    static let peerMAC = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x64)
    static let vmIP = IPv4Address(10, 10, 0, 10)
    static let peerIP = IPv4Address(10, 10, 0, 100)

    /// QEMU's announce frame for 00:50:56:00:00:10, byte for byte from the ANCHORS table.
    static let rarp: [UInt8] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff,         // destination: broadcast
        0x00, 0x50, 0x56, 0x00, 0x00, 0x10,         // source: the VM
        0x80, 0x35,                                 // EtherType RARP
        0x00, 0x01,                                 // hardware type Ethernet
        0x08, 0x00,                                 // protocol type IPv4
        0x06, 0x04,                                 // hlen, plen
        0x00, 0x03,                                 // opcode: request reverse
        0x00, 0x50, 0x56, 0x00, 0x00, 0x10,         // sender MAC
        0x00, 0x00, 0x00, 0x00,                     // sender IP 0.0.0.0
        0x00, 0x50, 0x56, 0x00, 0x00, 0x10,         // target MAC
        0x00, 0x00, 0x00, 0x00,                     // target IP 0.0.0.0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00,                                 // 18 bytes of padding → 60
    ]

    /// 10.10.0.100 asks who has 10.10.0.10 (Linux layout, padded to 60).
    static let arpRequest = hex("""
        ffffffffffff 005056000064 0806 0001 0800 06 04 0001 005056000064 0a0a0064 000000000000 0a0a000a
        000000000000000000000000000000000000
        """)

    /// 10.10.0.10 answers it.
    static let arpReply = hex("""
        005056000064 005056000010 0806 0001 0800 06 04 0002 005056000010 0a0a000a 005056000064 0a0a0064
        000000000000000000000000000000000000
        """)

    /// The same request on VLAN 100.
    static let vlanARPRequest = hex("""
        ffffffffffff 005056000064 8100 0064 0806 0001 0800 06 04 0001 005056000064 0a0a0064 000000000000 0a0a000a
        0000000000000000000000000000
        """)

    /// iputils ping 10.10.0.10 from 10.10.0.100: id 7, seq 3, 56 data bytes (timestamp + 0x10...0x37).
    /// IP checksum 0x09e2, ICMP checksum 0x7965.
    static let icmpEchoRequest = hex("""
        005056000010 005056000064 0800
        4500 0054 1c46 4000 40 01 09e2 0a0a0064 0a0a000a
        08 00 7965 0007 0003
        5e1a7f6700000000 d43b0e0000000000
        101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637
        """)
    static let icmpData: [UInt8] = [0x5e, 0x1a, 0x7f, 0x67, 0, 0, 0, 0, 0xd4, 0x3b, 0x0e, 0, 0, 0, 0, 0]
        + Array(0x10...0x37)

    /// UDP 10.10.0.100:40000 → 10.10.0.10:7777, payload "l2motion"; IP checksum 0xfc1d,
    /// UDP checksum 0x7331; 10 bytes of Ethernet padding after the IP packet.
    static let udp = hex("""
        005056000010 005056000064 0800
        4500 0024 2a2a 4000 40 11 fc1d 0a0a0064 0a0a000a
        9c40 1e61 0010 7331 6c326d6f74696f6e
        00000000000000000000
        """)

    /// Linux-style SYN 10.10.0.100:40000 → 10.10.0.10:8000, seq 1000, win 64240, options
    /// MSS 1460, SACK permitted, timestamps, NOP, window scale 7. IP checksum 0xf2f6, TCP 0x96e3.
    static let tcpSYN = hex("""
        005056000010 005056000064 0800
        4500 003c 3344 4000 40 06 f2f6 0a0a0064 0a0a000a
        9c40 1f40 000003e8 00000000 a0 02 faf0 96e3 0000
        020405b4 0402 080a 0001e240 00000000 01 030307
        """)
    static let tcpSYNOptions = hex("020405b4 0402 080a 0001e240 00000000 01 030307")

    /// Parses hex digits, ignoring whitespace.
    static func hex(_ text: String) -> [UInt8] {
        let digits = text.filter(\.isHexDigit).map { UInt8(String($0), radix: 16)! }
        precondition(digits.count % 2 == 0, "odd number of hex digits")
        return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    /// `bytes` as a slice whose startIndex is `offset` (not zero), with junk around it.
    static func offsetSlice(_ bytes: [UInt8], offset: Int = 7) -> ArraySlice<UInt8> {
        let buffer = [UInt8](repeating: 0xEE, count: offset) + bytes + [0xDD, 0xDD, 0xDD]
        return buffer[offset..<(offset + bytes.count)]
    }
}
