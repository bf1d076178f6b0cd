import Testing
@testable import L2Wire

@Suite("IPv4")
struct IPv4Tests {
    static let icmpPacket = Array(Golden.icmpEchoRequest[14...])

    @Test("ping request decodes field by field")
    func decode() throws {
        let ip = try IPv4Packet(Self.icmpPacket)
        #expect(ip.version == 4)
        #expect(ip.ihl == 5)
        #expect(ip.headerLength == 20)
        #expect(ip.tos == 0)
        #expect(ip.totalLength == 84)
        #expect(ip.identification == 0x1c46)
        #expect(ip.dontFragment)
        #expect(!ip.moreFragments)
        #expect(ip.fragmentOffset == 0)
        #expect(ip.ttl == 64)
        #expect(ip.protocol == .icmp)
        #expect(ip.checksum == 0x09e2)
        #expect(ip.isChecksumValid)
        #expect(ip.source == Golden.peerIP)
        #expect(ip.destination == Golden.vmIP)
        #expect(ip.options.isEmpty)
        #expect(ip.payload.count == 64)
    }

    @Test("build reproduces the golden packet, checksum included")
    func build() {
        let built = IPv4Packet.build(source: Golden.peerIP, destination: Golden.vmIP, protocol: .icmp,
                                     payload: Self.icmpPacket[20...], identification: 0x1c46)
        #expect(built == Self.icmpPacket)
    }

    @Test("payload is bounded by total length; Ethernet padding is ignored")
    func padding() throws {
        let frame = try EthernetFrame(Golden.udp)
        #expect(frame.payload.count == 46)
        let ip = try IPv4Packet(frame.payload)
        #expect(ip.bytes.count == 36)
        #expect(ip.payload.count == 16)
        #expect(ip.payload.startIndex == 14 + 20)
    }

    @Test("a corrupted header fails isChecksumValid")
    func badChecksum() throws {
        var bytes = Self.icmpPacket
        bytes[8] = 63  // TTL changed, checksum not updated
        #expect(try !IPv4Packet(bytes).isChecksumValid)
    }

    @Test("options are skipped: IHL 6 puts the payload after 24 bytes")
    func options() throws {
        var bytes = Golden.hex("4600 0020 0001 0000 40 11 0000 0a0a0064 0a0a000a 94040000 9c40 1e61 0008 0000")
        bytes.replaceSubrange(10..<12, with: [0, 0])
        let sum = InternetChecksum.compute(bytes[0..<24])
        bytes[10] = UInt8(sum >> 8); bytes[11] = UInt8(sum & 0xFF)
        let ip = try IPv4Packet(Golden.offsetSlice(bytes))
        #expect(ip.headerLength == 24)
        #expect(Array(ip.options) == [0x94, 0x04, 0x00, 0x00])
        #expect(ip.isChecksumValid)
        #expect(try UDPDatagram(ip.payload).sourcePort == 40000)
    }

    @Test("slices at a non-zero index")
    func offsetSlice() throws {
        let ip = try IPv4Packet(Golden.offsetSlice(Self.icmpPacket, offset: 3))
        #expect(ip.source == Golden.peerIP)
        #expect(ip.destination == Golden.vmIP)
        #expect(ip.isChecksumValid)
        #expect(ip.payload.first == 0x08)
        #expect(ip.payload.count == 64)
    }

    @Test("every length below 20 is truncated", arguments: 0..<20)
    func truncatedHeader(length: Int) {
        #expect(throws: WireError.truncated(layer: "IPv4", needed: 20, available: length)) {
            try IPv4Packet(Array(Self.icmpPacket.prefix(length)))
        }
    }

    @Test("fewer bytes than the total length is truncated", arguments: [20, 21, 60, 83])
    func truncatedBody(length: Int) {
        #expect(throws: WireError.truncated(layer: "IPv4", needed: 84, available: length)) {
            try IPv4Packet(Array(Self.icmpPacket.prefix(length)))
        }
    }

    @Test("options longer than the bytes given are truncated")
    func truncatedOptions() {
        var bytes = Array(Self.icmpPacket.prefix(22))
        bytes[0] = 0x46
        #expect(throws: WireError.truncated(layer: "IPv4", needed: 24, available: 22)) { try IPv4Packet(bytes) }
    }

    @Test("version other than 4 is invalid", arguments: [0, 5, 6, 15])
    func version(version: UInt8) {
        var bytes = Self.icmpPacket
        bytes[0] = version << 4 | 5
        #expect(throws: WireError.invalidField(layer: "IPv4", field: "version", value: Int(version))) {
            try IPv4Packet(bytes)
        }
    }

    @Test("IHL below 5 is invalid", arguments: 0..<5)
    func ihl(ihl: UInt8) {
        var bytes = Self.icmpPacket
        bytes[0] = 0x40 | ihl
        #expect(throws: WireError.invalidField(layer: "IPv4", field: "IHL", value: Int(ihl))) { try IPv4Packet(bytes) }
    }

    @Test("total length below the header length is invalid", arguments: [0, 1, 19])
    func totalLengthTooSmall(total: Int) {
        var bytes = Self.icmpPacket
        bytes[2] = 0; bytes[3] = UInt8(total)
        #expect(throws: WireError.invalidField(layer: "IPv4", field: "total length", value: total)) {
            try IPv4Packet(bytes)
        }
    }

    @Test("fragment fields decode")
    func fragments() throws {
        var bytes = Self.icmpPacket
        bytes[6] = 0x20; bytes[7] = 0xB9  // MF, offset 185 (1480 bytes)
        let ip = try IPv4Packet(bytes)
        #expect(ip.moreFragments && !ip.dontFragment)
        #expect(ip.fragmentOffset == 185)
        #expect(ip.isLaterFragment)
    }
}
