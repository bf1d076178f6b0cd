import Testing
@testable import L2Wire

/// Golden IPv6 frames between a Linux client (5e:a3:6b:0c:11:64, fd00:10:10::100) and web01
/// (00:50:56:00:00:10, fd00:10:10::10). The solicitation is real, captured with tcpdump from this
/// machine's kernel (Linux 6.18; 6.1 sends the same layout); the others were computed by a separate
/// Python script and shown "[correct]" by tshark.
enum GoldenIPv6 {
    static let clientMAC = MACAddress(0x5e, 0xa3, 0x6b, 0x0c, 0x11, 0x64)
    static let vmMAC = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10)
    static let client = IPv6Address("fd00:10:10::100")!
    static let vm = IPv6Address("fd00:10:10::10")!

    /// The kernel's Neighbor Solicitation for fd00:10:10::10 (captured): to ff02::1:ff00:10, hop
    /// limit 255, source link-layer address option.
    static let solicitation = Golden.hex("""
        3333ff0000105ea36b0c116486dd6000 000000203afffd000010001000000000 000000000100ff020000000000000000
        0001ff0000108700a32900000000fd00 00100010000000000000000000100101 5ea36b0c1164
        """)
    /// web01's answer: solicited and override set, target link-layer address option.
    static let advertisement = Golden.hex("""
        5ea36b0c116400505600001086dd6000 000000203afffd000010001000000000 000000000010fd000010001000000000
        0000000001008800c6c060000000fd00 00100010000000000000000000100201 005056000010
        """)
    /// `ping -6 -s 48` from the same kernel (captured): id 0x63f6, seq 1, 48 bytes of data, flow label 0xf545a.
    static let echoRequest = Golden.hex("""
        0050560000105ea36b0c116486dd600f 545a00383a40fd000010001000000000 000000000100fd000010001000000000
        00000000001080004d4163f600011ba9 146b00000000a6ec0a00000000001011 12131415161718191a1b1c1d1e1f2021
        22232425262728292a2b2c2d2e2f
        """)
    static let echoReply = Golden.hex("""
        5ea36b0c116400505600001086dd6000 000000383a40fd000010001000000000 000000000010fd000010001000000000
        00000000010081004c4163f600011ba9 146b00000000a6ec0a00000000001011 12131415161718191a1b1c1d1e1f2021
        22232425262728292a2b2c2d2e2f
        """)
    /// web01's unsolicited advertisement of its link-local address after a migration.
    static let unsolicitedLinkLocal = Golden.hex("""
        33330000000100505600001086dd6000 000000203afffe800000000000000250 56fffe000010ff020000000000000000
        0000000000018800547d20000000fe80 000000000000025056fffe0000100201 005056000010
        """)
}

@Suite("IPv6, ICMPv6 and Neighbor Discovery")
struct NeighborDiscoveryTests {
    @Test("the kernel's solicitation decodes field by field")
    func decodeSolicitation() throws {
        let frame = try EthernetFrame(GoldenIPv6.solicitation)
        #expect(frame.etherType == .ipv6 && frame.destination.description == "33:33:ff:00:00:10")
        let packet = try IPv6Packet(frame.payload)
        #expect(packet.version == 6 && packet.trafficClass == 0 && packet.flowLabel == 0)
        #expect(packet.payloadLength == 32 && packet.nextHeader == .icmpv6 && packet.hopLimit == 255)
        #expect(packet.source == GoldenIPv6.client && packet.destination == GoldenIPv6.vm.solicitedNode)
        #expect(!packet.hasExtensionHeaders)
        let message = try ICMPv6Message(packet.payload)
        #expect(message.type == .neighborSolicitation && message.code == 0 && message.checksum == 0xa329)
        #expect(message.isChecksumValid(source: packet.source, destination: packet.destination))
        #expect(!message.isChecksumValid(source: packet.source, destination: .allNodes))
        let ns = try NeighborSolicitation(message)
        #expect(ns.target == GoldenIPv6.vm && ns.sourceLinkLayerAddress == GoldenIPv6.clientMAC)
    }

    @Test("builders reproduce the golden frames byte for byte")
    func build() {
        #expect(Frames.neighborSolicitation(sourceMAC: GoldenIPv6.clientMAC, source: GoldenIPv6.client, target: GoldenIPv6.vm)
                == GoldenIPv6.solicitation)
        #expect(Frames.neighborAdvertisement(sourceMAC: GoldenIPv6.vmMAC, destinationMAC: GoldenIPv6.clientMAC, target: GoldenIPv6.vm,
                                             destination: GoldenIPv6.client, solicited: true) == GoldenIPv6.advertisement)
        #expect(Frames.unsolicitedNeighborAdvertisement(mac: GoldenIPv6.vmMAC, address: .linkLocal(eui64: GoldenIPv6.vmMAC))
                == GoldenIPv6.unsolicitedLinkLocal)
        #expect(Frames.icmpv6Echo(sourceMAC: GoldenIPv6.vmMAC, destinationMAC: GoldenIPv6.clientMAC, source: GoldenIPv6.vm,
                                  destination: GoldenIPv6.client, type: .echoReply, identifier: 0x63f6, sequence: 1,
                                  payload: GoldenIPv6.echoRequest[(14 + 40 + 8)...]) == GoldenIPv6.echoReply)
    }

    @Test("an advertisement decodes its flags and target link-layer address")
    func decodeAdvertisement() throws {
        let packet = try IPv6Packet(try EthernetFrame(GoldenIPv6.advertisement).payload)
        let na = try NeighborAdvertisement(try ICMPv6Message(packet.payload))
        #expect(na.solicited && na.override && !na.router)
        #expect(na.target == GoldenIPv6.vm && na.targetLinkLayerAddress == GoldenIPv6.vmMAC)
        let unsolicited = try NeighborAdvertisement(try ICMPv6Message(try IPv6Packet(try EthernetFrame(GoldenIPv6.unsolicitedLinkLocal).payload).payload))
        #expect(!unsolicited.solicited && unsolicited.override)
    }

    @Test("echo request decodes; flow label read, checksum valid")
    func echo() throws {
        let packet = try IPv6Packet(try EthernetFrame(GoldenIPv6.echoRequest).payload)
        #expect(packet.flowLabel == 0xf545a && packet.hopLimit == 64)
        let message = try ICMPv6Message(packet.payload)
        #expect(message.isChecksumValid(source: packet.source, destination: packet.destination))
        let echo = try ICMPv6Echo(message)
        #expect(echo.identifier == 0x63f6 && echo.sequence == 1 && echo.payload.count == 48)
        #expect(echo.reply().bytes(source: GoldenIPv6.vm, destination: GoldenIPv6.client)[...]
                == (try IPv6Packet(try EthernetFrame(GoldenIPv6.echoReply).payload)).payload)
    }

    @Test("options: zero length and overruns are refused, unknown ones kept")
    func options() throws {
        #expect(throws: WireError.invalidField(layer: "NDP option", field: "length", value: 0)) { try NDPOption.parse([1, 0, 0, 0, 0, 0, 0, 0][...]) }
        #expect(throws: WireError.truncated(layer: "NDP option", needed: 16, available: 8)) { try NDPOption.parse([1, 2, 0, 0, 0, 0, 0, 0][...]) }
        let nonce: [UInt8] = [14, 1, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6]
        #expect(try NDPOption.parse(nonce[...]) == [.other(type: 14, value: [0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6])])
        #expect(NDPOption.other(type: 14, value: [0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6]).bytes == nonce)
    }

    @Test("every truncation of the fixed header is refused", arguments: 0..<40)
    func truncated(length: Int) {
        let packet = Array(GoldenIPv6.solicitation[14...])
        #expect(throws: WireError.truncated(layer: "IPv6", needed: 40, available: length)) { try IPv6Packet(Array(packet.prefix(length))) }
    }

    @Test("a payload length past the bytes is refused; padding is cut; version checked; slices need not start at 0")
    func lengths() throws {
        let packet = Array(GoldenIPv6.solicitation[14...])
        #expect(throws: WireError.truncated(layer: "IPv6", needed: 72, available: 71)) { try IPv6Packet(Array(packet.dropLast())) }
        #expect(try IPv6Packet(packet + [0, 0, 0]).bytes.count == 72)
        var v4 = packet
        v4[0] = 0x45
        #expect(throws: WireError.invalidField(layer: "IPv6", field: "version", value: 4)) { try IPv6Packet(v4) }
        let sliced = try IPv6Packet(Golden.offsetSlice(packet, offset: 13))
        #expect(sliced.source == GoldenIPv6.client && sliced.destination == GoldenIPv6.vm.solicitedNode)
        #expect(try NeighborSolicitation(try ICMPv6Message(sliced.payload)).target == GoldenIPv6.vm)
    }

    @Test("frames describe themselves like tcpdump")
    func describeFrames() {
        #expect(describe(frame: GoldenIPv6.solicitation)
                == "5e:a3:6b:0c:11:64 > 33:33:ff:00:00:10, IPv6, fd00:10:10::100 > ff02::1:ff00:10: ICMP6, neighbor solicitation, who has fd00:10:10::10, length 32")
        #expect(describe(frame: GoldenIPv6.advertisement)
                == "00:50:56:00:00:10 > 5e:a3:6b:0c:11:64, IPv6, fd00:10:10::10 > fd00:10:10::100: ICMP6, neighbor advertisement, tgt is fd00:10:10::10 [solicited, override], length 32")
        #expect(describe(frame: GoldenIPv6.echoRequest)
                == "5e:a3:6b:0c:11:64 > 00:50:56:00:00:10, IPv6, fd00:10:10::100 > fd00:10:10::10: ICMP6, echo request, id 25590, seq 1, length 56")
        #expect(describe(frame: Array(GoldenIPv6.echoRequest.prefix(30))).hasSuffix("IPv6, malformed: IPv6: truncated, needs 40 bytes, has 16"))
    }
}
