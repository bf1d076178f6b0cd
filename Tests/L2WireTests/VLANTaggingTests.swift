import Testing
@testable import L2Wire

@Suite("802.1Q: adding and removing a frame's tag")
struct VLANTaggingTests {
    /// QEMU's RARP tagged for VLAN 10, as a VST port group's uplink sends it: the tag after the source
    /// MAC, then the RARP bytes unchanged (64 bytes).
    static let taggedRARP: [UInt8] = Array(Golden.rarp[0..<12]) + [0x81, 0x00, 0x00, 0x0A] + Array(Golden.rarp[12...])

    @Test("the RARP on VLAN 10 is QEMU's 60 bytes with the tag inserted after the MACs")
    func taggedRARPGolden() throws {
        let slice = ([0xEE, 0xEE, 0xEE] + Golden.rarp)[3...]
        let tagged = VLANTagging.inserting(VLANTag(vid: 10), into: slice)
        #expect(tagged == Self.taggedRARP)
        #expect(tagged.count == 64)
        let frame = try EthernetFrame(tagged)
        #expect(frame.vlan == VLANTag(vid: 10))
        #expect(frame.etherType == .rarp)
        #expect(frame.description.contains("vlan 10, p 0, RARP"), "\(frame)")
    }

    @Test("removing the tag gives back the untagged frame byte for byte; untagged frames pass unchanged")
    func removeRoundTrip() {
        let tagged = ([0x01] + Self.taggedRARP)[1...]
        #expect(VLANTagging.removingTag(from: tagged) == Golden.rarp)
        #expect(VLANTagging.removingTag(from: Golden.rarp[...]) == Golden.rarp)
        #expect(VLANTagging.vlanID(of: tagged) == 10)
        #expect(VLANTagging.vlanID(of: Golden.rarp[...]) == 0)
        #expect(VLANTagging.isTagged(tagged) && !VLANTagging.isTagged(Golden.rarp[...]))
        // Priority bits and DEI come and go with the tag.
        let priority = VLANTagging.inserting(VLANTag(vid: 4094, pcp: 5, dei: true), into: Golden.arpRequest[...])
        #expect(Array(priority[12..<16]) == [0x81, 0x00, 0xBF, 0xFE])
        #expect(VLANTagging.vlanID(of: priority[...]) == 4094)
        #expect(VLANTagging.removingTag(from: priority[...]) == Golden.arpRequest)
    }

    @Test("a frame too short for a whole tag counts as untagged and is left alone", arguments: 0..<16)
    func shortFrames(length: Int) {
        let bytes = Array(Self.taggedRARP.prefix(length))[...]
        #expect(!VLANTagging.isTagged(bytes))
        #expect(VLANTagging.vlanID(of: bytes) == 0)
        #expect(VLANTagging.removingTag(from: bytes) == Array(bytes))
        if length < 12 { #expect(VLANTagging.inserting(VLANTag(vid: 10), into: bytes) == Array(bytes)) }
    }
}
