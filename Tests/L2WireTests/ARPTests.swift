import Testing
@testable import L2Wire

@Suite("ARP and RARP")
struct ARPTests {
    @Test("QEMU RARP announce decodes field by field")
    func decodeRARP() throws {
        let frame = try EthernetFrame(Golden.rarp)
        let arp = try ARPPacket(parsing: frame.payload)
        #expect(arp.hardwareType == 1)
        #expect(arp.protocolType == .ipv4)
        #expect(arp.hardwareLength == 6)
        #expect(arp.protocolLength == 4)
        #expect(arp.operation == .reverseRequest)
        #expect(arp.operation.rawValue == 3)
        #expect(arp.senderMAC == Golden.vmMAC)
        #expect(arp.senderIP == .any)
        #expect(arp.targetMAC == Golden.vmMAC)
        #expect(arp.targetIP == .any)
        #expect(arp == ARPPacket.rarpAnnounce(mac: Golden.vmMAC))
    }

    @Test("Announce.rarpFrame is exactly QEMU's 60 bytes")
    func rarpFrameGolden() {
        let frame = Announce.rarpFrame(for: Golden.vmMAC)
        #expect(frame.count == 60)
        #expect(frame == Golden.rarp)
    }

    @Test("rarpFrame puts any MAC at offsets 6, 22 and 32")
    func rarpFrameOtherMAC() {
        let mac = MACAddress(0x02, 0xAB, 0xCD, 0xEF, 0x01, 0x23)
        let frame = Announce.rarpFrame(for: mac)
        #expect(Array(frame[6..<12]) == mac.bytes)
        #expect(Array(frame[22..<28]) == mac.bytes)
        #expect(Array(frame[32..<38]) == mac.bytes)
        #expect(Array(frame[0..<6]) == MACAddress.broadcast.bytes)
    }

    @Test("gratuitous ARP: broadcast request, sender IP = target IP, target MAC zero, 60 bytes")
    func gratuitousARP() throws {
        let bytes = Announce.gratuitousARPFrame(mac: Golden.vmMAC, ip: Golden.vmIP)
        #expect(bytes.count == 60)
        #expect(bytes == Golden.hex("""
            ffffffffffff 005056000010 0806 0001 0800 06 04 0001 005056000010 0a0a000a 000000000000 0a0a000a
            000000000000000000000000000000000000
            """))
        let frame = try EthernetFrame(bytes)
        #expect(frame.etherType == .arp)
        let arp = try ARPPacket(parsing: frame.payload)
        #expect(arp.operation == .request)
        #expect(arp.senderIP == Golden.vmIP && arp.targetIP == Golden.vmIP)
        #expect(arp.targetMAC.isZero)
    }

    @Test("real request and reply decode and re-encode byte-identically")
    func requestReply() throws {
        let request = try ARPPacket(parsing: EthernetFrame(Golden.arpRequest).payload)
        #expect(request.operation == .request)
        #expect(request.senderMAC == Golden.peerMAC)
        #expect(request.senderIP == Golden.peerIP)
        #expect(request.targetMAC == .zero)
        #expect(request.targetIP == Golden.vmIP)
        #expect(request.bytes == Array(Golden.arpRequest[14..<42]))
        #expect(request == .request(senderMAC: Golden.peerMAC, senderIP: Golden.peerIP, targetIP: Golden.vmIP))

        let reply = try ARPPacket(parsing: EthernetFrame(Golden.arpReply).payload)
        #expect(reply.operation == .reply)
        #expect(reply.senderMAC == Golden.vmMAC && reply.senderIP == Golden.vmIP)
        #expect(reply.targetMAC == Golden.peerMAC && reply.targetIP == Golden.peerIP)
        #expect(ARPPacket.reply(to: request, mac: Golden.vmMAC) == reply)
        #expect(EthernetFrame.build(destination: Golden.peerMAC, source: Golden.vmMAC, etherType: .arp,
                                    payload: reply.bytes) == Golden.arpReply)
    }

    @Test("Frames.arpReply answers a request for our IP only, keeping the VLAN")
    func framesARPReply() throws {
        let reply = try #require(Frames.arpReply(to: EthernetFrame(Golden.arpRequest), ip: Golden.vmIP, mac: Golden.vmMAC))
        #expect(reply == Golden.arpReply)
        #expect(try Frames.arpReply(to: EthernetFrame(Golden.arpRequest), ip: IPv4Address(10, 10, 0, 11),
                                    mac: Golden.vmMAC) == nil)
        #expect(try Frames.arpReply(to: EthernetFrame(Golden.arpReply), ip: Golden.peerIP, mac: Golden.peerMAC) == nil)
        let tagged = try #require(Frames.arpReply(to: EthernetFrame(Golden.vlanARPRequest), ip: Golden.vmIP, mac: Golden.vmMAC))
        #expect(try EthernetFrame(tagged).vlan?.vid == 100)
    }

    @Test("parse works on a slice at a non-zero index")
    func offsetSlice() throws {
        let slice = Golden.offsetSlice(Array(Golden.arpReply[14..<42]), offset: 9)
        let reply = try ARPPacket(parsing: slice)
        #expect(reply.senderIP == Golden.vmIP)
        #expect(reply.targetMAC == Golden.peerMAC)
    }

    @Test("every length below 28 is truncated", arguments: 0..<28)
    func truncated(length: Int) {
        #expect(throws: WireError.truncated(layer: "ARP", needed: 28, available: length)) {
            try ARPPacket(parsing: Array(Golden.arpRequest[14..<(14 + length)]))
        }
    }

    @Test("wrong htype, ptype, hlen, plen are invalid fields",
          arguments: [(1, 0x02, "hardware type", 0x0002), (3, 0xDD, "protocol type", 0x08DD),
                      (4, 8, "hardware length", 8), (5, 16, "protocol length", 16)])
    func invalidFields(offset: Int, value: UInt8, field: String, reported: Int) {
        var bytes = Array(Golden.arpRequest[14..<42])
        bytes[offset] = value
        #expect(throws: WireError.invalidField(layer: "ARP", field: field, value: reported)) {
            try ARPPacket(parsing: bytes)
        }
    }

    @Test("unknown opcodes parse and print")
    func unknownOpcode() throws {
        var bytes = Array(Golden.arpRequest[14..<42])
        bytes[7] = 9
        let arp = try ARPPacket(parsing: bytes)
        #expect(arp.operation == ARPOperation(rawValue: 9))
        #expect(arp.description == "Unknown opcode 9")
    }
}
