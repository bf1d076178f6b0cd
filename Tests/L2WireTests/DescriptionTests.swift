import Testing
@testable import L2Wire

@Suite("tcpdump-like descriptions")
struct DescriptionTests {
    @Test("QEMU RARP")
    func rarp() {
        #expect(describe(frame: Golden.rarp) == "00:50:56:00:00:10 > ff:ff:ff:ff:ff:ff, RARP, "
            + "Reverse Request who-is 00:50:56:00:00:10 tell 00:50:56:00:00:10, length 46")
    }

    @Test("ARP request, reply, gratuitous, and a tagged request")
    func arp() throws {
        #expect(describe(frame: Golden.arpRequest) == "00:50:56:00:00:64 > ff:ff:ff:ff:ff:ff, ARP, "
            + "Request who-has 10.10.0.10 tell 10.10.0.100, length 46")
        #expect(describe(frame: Golden.arpReply) == "00:50:56:00:00:10 > 00:50:56:00:00:64, ARP, "
            + "Reply 10.10.0.10 is-at 00:50:56:00:00:10, length 46")
        #expect(describe(frame: Announce.gratuitousARPFrame(mac: Golden.vmMAC, ip: Golden.vmIP))
            == "00:50:56:00:00:10 > ff:ff:ff:ff:ff:ff, ARP, Request who-has 10.10.0.10 tell 10.10.0.10, length 46")
        #expect(try EthernetFrame(Golden.vlanARPRequest).description
            == "00:50:56:00:00:64 > ff:ff:ff:ff:ff:ff, vlan 100, p 0, ARP, "
            + "Request who-has 10.10.0.10 tell 10.10.0.100, length 42")
    }

    @Test("ARP request with a known target MAC and a reverse reply")
    func arpVariants() {
        let unicast = ARPPacket(operation: .request, senderMAC: Golden.peerMAC, senderIP: Golden.peerIP,
                                targetMAC: Golden.vmMAC, targetIP: Golden.vmIP)
        #expect(unicast.description == "Request who-has 10.10.0.10 (00:50:56:00:00:10) tell 10.10.0.100")
        let reverseReply = ARPPacket(operation: .reverseReply, senderMAC: Golden.peerMAC, senderIP: Golden.peerIP,
                                     targetMAC: Golden.vmMAC, targetIP: Golden.vmIP)
        #expect(reverseReply.description == "Reverse Reply 00:50:56:00:00:10 at 10.10.0.10")
    }

    @Test("ICMP echo request and reply")
    func icmp() throws {
        let ip = try IPv4Packet(EthernetFrame(Golden.icmpEchoRequest).payload)
        #expect(ip.description == "10.10.0.100 > 10.10.0.10: ICMP echo request, id 7, seq 3, length 64")
        #expect(describe(frame: Golden.icmpEchoRequest) == "00:50:56:00:00:64 > 00:50:56:00:00:10, IPv4, "
            + "10.10.0.100 > 10.10.0.10: ICMP echo request, id 7, seq 3, length 64")
        let reply = try #require(Frames.icmpEchoReply(to: EthernetFrame(Golden.icmpEchoRequest),
                                                      ip: Golden.vmIP, mac: Golden.vmMAC))
        #expect(describe(frame: reply) == "00:50:56:00:00:10 > 00:50:56:00:00:64, IPv4, "
            + "10.10.0.10 > 10.10.0.100: ICMP echo reply, id 7, seq 3, length 64")
    }

    @Test("UDP with ports after the addresses")
    func udp() throws {
        #expect(try IPv4Packet(EthernetFrame(Golden.udp).payload).description
            == "10.10.0.100.40000 > 10.10.0.10.7777: UDP, length 8")
        #expect(try UDPDatagram(Array(Golden.udp[34..<50])).description == "40000 > 7777: UDP, length 8")
    }

    @Test("TCP handshake and data: [S], [S.], [.], [P.]")
    func tcp() throws {
        func text(_ flags: TCPFlags, seq: UInt32, ack: UInt32, win: UInt16, payload: [UInt8] = [],
                  from a: IPv4Address = Golden.peerIP, to b: IPv4Address = Golden.vmIP,
                  ports: (UInt16, UInt16) = (40000, 8000)) throws -> String {
            let segment = TCPSegment.build(source: a, destination: b, sourcePort: ports.0, destinationPort: ports.1,
                                           sequenceNumber: seq, acknowledgmentNumber: ack, flags: flags,
                                           window: win, payload: payload)
            return try IPv4Packet(IPv4Packet.build(source: a, destination: b, protocol: .tcp, payload: segment)).description
        }
        #expect(try IPv4Packet(EthernetFrame(Golden.tcpSYN).payload).description
            == "10.10.0.100.40000 > 10.10.0.10.8000: Flags [S], seq 1000, win 64240, length 0")
        #expect(try text([.syn, .ack], seq: 2000, ack: 1001, win: 65160, from: Golden.vmIP, to: Golden.peerIP,
                         ports: (8000, 40000))
            == "10.10.0.10.8000 > 10.10.0.100.40000: Flags [S.], seq 2000, ack 1001, win 65160, length 0")
        #expect(try text(.ack, seq: 1001, ack: 2001, win: 502)
            == "10.10.0.100.40000 > 10.10.0.10.8000: Flags [.], ack 2001, win 502, length 0")
        #expect(try text([.psh, .ack], seq: 1001, ack: 2001, win: 502, payload: Array("hello".utf8))
            == "10.10.0.100.40000 > 10.10.0.10.8000: Flags [P.], seq 1001:1006, ack 2001, win 502, length 5")
        #expect(try text([.fin, .ack], seq: 1006, ack: 2001, win: 502)
            == "10.10.0.100.40000 > 10.10.0.10.8000: Flags [F.], seq 1006, ack 2001, win 502, length 0")
    }

    @Test("unknown EtherType and IP protocol, later fragments")
    func unknowns() throws {
        let lldp = EthernetFrame.build(destination: MACAddress(0x01, 0x80, 0xC2, 0, 0, 0x0E), source: Golden.vmMAC,
                                       etherType: EtherType(rawValue: 0x88CC), payload: [UInt8](repeating: 0, count: 10))
        #expect(describe(frame: lldp) == "00:50:56:00:00:10 > 01:80:c2:00:00:0e, 0x88cc, length 46")
        let gre = IPv4Packet.build(source: Golden.peerIP, destination: Golden.vmIP,
                                   protocol: IPProtocol(rawValue: 47), payload: [UInt8](repeating: 0, count: 12))
        #expect(try IPv4Packet(gre).description == "10.10.0.100 > 10.10.0.10: ip-proto-47 12")
        var fragment = IPv4Packet.build(source: Golden.peerIP, destination: Golden.vmIP, protocol: .udp,
                                        payload: [UInt8](repeating: 0, count: 16), identification: 99,
                                        dontFragment: false)
        fragment[6] = 0x00; fragment[7] = 0xB9  // offset 185 × 8 = 1480, last fragment
        #expect(try IPv4Packet(fragment).description == "10.10.0.100 > 10.10.0.10: UDP (frag 99:16@1480)")
    }

    @Test("malformed input at each layer never throws")
    func malformed() {
        #expect(describe(frame: [0x01, 0x02, 0x03]) == "malformed: Ethernet: truncated, needs 14 bytes, has 3")
        #expect(describe(frame: Array(Golden.vlanARPRequest.prefix(16)))
            == "malformed: 802.1Q: truncated, needs 18 bytes, has 16")
        var badARP = Golden.arpRequest
        badARP[18] = 8
        #expect(describe(frame: badARP) == "00:50:56:00:00:64 > ff:ff:ff:ff:ff:ff, ARP, "
            + "malformed: ARP: invalid hardware length 8")
        #expect(describe(frame: Array(Golden.icmpEchoRequest.prefix(40))) == "00:50:56:00:00:64 > 00:50:56:00:00:10, "
            + "IPv4, malformed: IPv4: truncated, needs 84 bytes, has 26")
        var badUDP = Golden.udp
        badUDP[38] = 0; badUDP[39] = 4  // UDP length 4
        #expect(describe(frame: badUDP) == "00:50:56:00:00:64 > 00:50:56:00:00:10, IPv4, "
            + "10.10.0.100 > 10.10.0.10: malformed: UDP: invalid length 4")
    }

    @Test("FrameSummary and describe agree on a non-zero slice")
    func summaryOnSlice() {
        let slice = Golden.offsetSlice(Golden.udp, offset: 21)
        #expect(FrameSummary(slice).description == describe(frame: Golden.udp))
        #expect(describe(frame: slice) == describe(frame: Golden.udp))
    }
}
