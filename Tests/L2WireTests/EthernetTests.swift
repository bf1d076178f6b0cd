import Testing
@testable import L2Wire

@Suite("Ethernet and 802.1Q")
struct EthernetTests {
    @Test("QEMU RARP frame decodes field by field")
    func decodeRARP() throws {
        let frame = try EthernetFrame(Golden.rarp)
        #expect(frame.destination == .broadcast)
        #expect(frame.source == Golden.vmMAC)
        #expect(frame.vlan == nil)
        #expect(frame.etherType == .rarp)
        #expect(frame.headerLength == 14)
        #expect(frame.payload.count == 46)
        #expect(frame.payload.startIndex == 14)
    }

    @Test("tagged frame: TPID 0x8100, VID 100, PCP/DEI, inner EtherType, 18-byte header")
    func decodeTagged() throws {
        let frame = try EthernetFrame(Golden.vlanARPRequest)
        #expect(frame.vlan == VLANTag(vid: 100, pcp: 0))
        #expect(frame.etherType == .arp)
        #expect(frame.headerLength == 18)
        #expect(frame.payload.count == 42)
        #expect(Array(frame.payload.prefix(4)) == [0x00, 0x01, 0x08, 0x00])

        var bytes = Golden.vlanARPRequest
        bytes[14] = 0xB0; bytes[15] = 0x64  // PCP 5, DEI 1, VID 100
        let tagged = try EthernetFrame(bytes)
        #expect(tagged.vlan?.pcp == 5)
        #expect(tagged.vlan?.dei == true)
        #expect(tagged.vlan?.vid == 100)
        #expect(tagged.vlan?.tci == 0xB064)
    }

    @Test("slice starting at a non-zero index reads the same fields")
    func offsetSlice() throws {
        let slice = Golden.offsetSlice(Golden.vlanARPRequest, offset: 5)
        #expect(slice.startIndex == 5)
        let frame = try EthernetFrame(slice)
        #expect(frame.source == Golden.peerMAC)
        #expect(frame.destination == .broadcast)
        #expect(frame.vlan?.vid == 100)
        #expect(frame.etherType == .arp)
        #expect(frame.payload.startIndex == 5 + 18)
        #expect(frame.payload.count == Golden.vlanARPRequest.count - 18)
    }

    @Test("every length below 14 is truncated", arguments: 0..<14)
    func truncatedUntagged(length: Int) {
        #expect(throws: WireError.truncated(layer: "Ethernet", needed: 14, available: length)) {
            try EthernetFrame(Array(Golden.rarp.prefix(length)))
        }
    }

    @Test("a tagged frame below 18 bytes is truncated", arguments: 14..<18)
    func truncatedTagged(length: Int) {
        #expect(throws: WireError.truncated(layer: "802.1Q", needed: 18, available: length)) {
            try EthernetFrame(Array(Golden.vlanARPRequest.prefix(length)))
        }
    }

    @Test("build reproduces golden frames byte for byte")
    func buildGolden() {
        let arp = EthernetFrame.build(destination: .broadcast, source: Golden.peerMAC, etherType: .arp,
                                      payload: Golden.arpRequest[14..<42])
        #expect(arp == Golden.arpRequest)
        let tagged = EthernetFrame.build(destination: .broadcast, source: Golden.peerMAC,
                                         vlan: VLANTag(vid: 100), etherType: .arp,
                                         payload: Golden.vlanARPRequest[18..<46])
        #expect(tagged == Golden.vlanARPRequest)
    }

    @Test("build pads to 60 with zeros and leaves long frames alone")
    func padding() throws {
        let short = EthernetFrame.build(destination: .broadcast, source: Golden.vmMAC,
                                        etherType: EtherType(rawValue: 0x88B5), payload: [0xAA] as [UInt8])
        #expect(short.count == 60)
        #expect(short[14] == 0xAA)
        #expect(short[15...].allSatisfy { $0 == 0 })
        let long = EthernetFrame.build(destination: .broadcast, source: Golden.vmMAC, etherType: .ipv4,
                                       payload: [UInt8](repeating: 1, count: 100))
        #expect(long.count == 114)
        let parsed = try EthernetFrame(long)
        #expect(parsed.etherType == .ipv4)
        #expect(parsed.payload.count == 100)
    }

    @Test("TCI round-trips for every PCP/DEI and boundary VIDs")
    func tciRoundTrip() {
        for pcp in UInt8(0)..<8 {
            for dei in [false, true] {
                for vid: UInt16 in [0, 1, 100, 4094, 4095] {
                    let tag = VLANTag(vid: vid, pcp: pcp, dei: dei)
                    #expect(VLANTag(tci: tag.tci) == tag)
                }
            }
        }
    }
}
