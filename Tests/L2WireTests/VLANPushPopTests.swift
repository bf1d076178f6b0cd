import Foundation
import Testing
@testable import L2Wire

@Suite("802.1Q push and pop, VLAN lists")
struct VLANPushPopTests {
    @Test("pushing VLAN 100 onto the ARP request gives the tagged request's bytes; popping gives them back")
    func pushAndPopGoldenBytes() throws {
        let tagged = VLANTagging.pushing(VLANTag(vid: 100), to: Golden.arpRequest)
        // The untagged request is 60 bytes with 18 of padding; tagged it keeps all of them.
        #expect(tagged == Golden.vlanARPRequest + [0, 0, 0, 0])
        #expect(VLANTagging.popping(tagged) == Golden.arpRequest)
        #expect(VLANTagging.popping(Golden.vlanARPRequest) == Array(Golden.arpRequest.prefix(56)))
        #expect(VLANTagging.popping(Golden.arpRequest) == nil, "an untagged frame has no tag to pop")
        let withPriority = VLANTagging.pushing(VLANTag(vid: 4094, pcp: 5, dei: true), to: Golden.rarp)
        #expect(Array(withPriority[12..<16]) == [0x81, 0x00, 0xBF, 0xFE])
        #expect(try EthernetFrame(withPriority).etherType == .rarp)
    }

    @Test("push and pop read their frame relative to the buffer they are given")
    func buffersThatDoNotStartAtZero() {
        let bytes = [UInt8](repeating: 0xEE, count: 9) + Golden.arpRequest + [0xEE]
        var out = [UInt8](repeating: 0, count: 70)
        let length = bytes.withUnsafeBytes { buffer in
            out.withUnsafeMutableBytes { room in
                VLANTagging.push(VLANTag(vid: 100), from: UnsafeRawBufferPointer(rebasing: buffer[9..<69]),
                                 into: UnsafeMutableRawBufferPointer(rebasing: room[3...]))
            }
        }
        #expect(length == 64)
        #expect(Array(out[3..<67]) == Golden.vlanARPRequest + [0, 0, 0, 0])
        #expect(Array(out[0..<3]) == [0, 0, 0], "nothing written before the destination")
    }

    @Test("a virtio-net header moves its checksum start and header length with the tag")
    func virtioHeaderShifts() {
        let tso = VirtioNetHeader(flags: VirtioNetHeader.needsChecksumFlag, segmentationType: 1, headerLength: 66, segmentSize: 1448,
                                  checksumStart: 34, checksumOffset: 16)
        let pushed = tso.shifted(by: 4)
        #expect(pushed.checksumStart == 38 && pushed.headerLength == 70)
        #expect(pushed.checksumOffset == 16 && pushed.segmentSize == 1448 && pushed.flags == tso.flags)
        #expect(pushed.shifted(by: -4) == tso)
        // A completed checksum (data valid, no start) and a plain header have nothing to move.
        let completed = VirtioNetHeader(flags: VirtioNetHeader.dataValidFlag, segmentationType: 0, headerLength: 0, segmentSize: 0,
                                        checksumStart: 0, checksumOffset: 0)
        #expect(completed.shifted(by: 4) == completed)
        #expect(VirtioNetHeader.plain.shifted(by: -4) == .plain)
    }

    @Test("a super-frame's header still fits its frame after the tag is pushed and popped")
    func superFrameStaysConsistent() {
        var frame = [UInt8](repeating: 0, count: 14 + 20 + 32 + 4000)
        frame[12] = 0x08
        frame[14] = 0x45
        frame[23] = 6
        frame[14 + 20 + 12] = 8 << 4
        let tso = VirtioNetHeader(flags: VirtioNetHeader.needsChecksumFlag, segmentationType: 1, headerLength: 66, segmentSize: 1448,
                                  checksumStart: 34, checksumOffset: 16)
        let tagged = VLANTagging.pushing(VLANTag(vid: 10), to: frame)
        let taggedHeader = tso.shifted(by: 4)
        #expect(tagged.withUnsafeBytes { taggedHeader.problem(with: $0) } == nil)
        #expect(tagged.withUnsafeBytes { taggedHeader.largestWireFrame(of: $0) } == 18 + 20 + 32 + 1448)
        #expect(tagged.withUnsafeBytes { tso.largestWireFrame(of: $0) } != 18 + 20 + 32 + 1448,
                "an unshifted header reads the TCP header length from the wrong bytes")
    }

    @Test("VLAN lists parse ids and ranges and print in canonical form")
    func vlanSets() throws {
        let set = try VLANSet(parsing: "30-40:10:20:12")
        #expect(set.ids == [10, 12, 20] + Array(30...40))
        #expect(set.count == 14)
        #expect(set.description == "10:12:20:30-40")
        #expect(try VLANSet(parsing: "1-4094").count == 4094)
        #expect(try VLANSet(parsing: "5:6").description == "5:6")
        #expect(try VLANSet(parsing: "5:6:7").description == "5-7")
        #expect(set.contains(35) && !set.contains(41) && !set.contains(0) && !set.contains(4095) && !set.contains(9999))
        let json = try JSONEncoder().encode(set)
        #expect(String(decoding: json, as: UTF8.self) == "\"10:12:20:30-40\"")
        #expect(try JSONDecoder().decode(VLANSet.self, from: json) == set)
    }

    @Test("a bad VLAN list names the part that is wrong", arguments: [
        ("10:abc", "\"abc\" is not a VLAN id (1...4094) or a range like 30-40"),
        ("0", "\"0\" is not a VLAN id"),
        ("4095", "\"4095\" is not a VLAN id"),
        ("10::20", "\"\" is not a VLAN id"),
        ("40-30", "\"40-30\" is a range that runs backwards"),
        ("10-", "\"10-\" is not a VLAN id"),
        ("", "the VLAN list is empty"),
    ])
    func badVLANSets(text: String, message: String) {
        do {
            _ = try VLANSet(parsing: text)
            Issue.record("\"\(text)\" parsed")
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
            #expect(error.description.contains("10:20:30-40"), "the error shows what to write")
        }
    }
}
