import Testing
@testable import L2Wire

@Suite("ICMPv4 echo")
struct ICMPTests {
    static let message = Array(Golden.icmpEchoRequest[34...])

    @Test("ping request decodes field by field")
    func decode() throws {
        let icmp = try ICMPv4Message(Self.message)
        #expect(icmp.type == .echoRequest)
        #expect(icmp.type.rawValue == 8)
        #expect(icmp.code == 0)
        #expect(icmp.checksum == 0x7965)
        #expect(icmp.identifier == 7)
        #expect(icmp.sequence == 3)
        #expect(Array(icmp.payload) == Golden.icmpData)
        #expect(icmp.isChecksumValid)
        let echo = try ICMPEchoMessage(icmp)
        #expect(echo == ICMPEchoMessage(type: .echoRequest, identifier: 7, sequence: 3, payload: Golden.icmpData))
    }

    @Test("build reproduces the golden message and the whole frame")
    func build() {
        #expect(ICMPEchoMessage.build(type: .echoRequest, identifier: 7, sequence: 3, payload: Golden.icmpData)
                == Self.message)
        let frame = Frames.icmpEcho(sourceMAC: Golden.peerMAC, destinationMAC: Golden.vmMAC,
                                    source: Golden.peerIP, destination: Golden.vmIP,
                                    identifier: 7, sequence: 3, payload: Golden.icmpData, identification: 0x1c46)
        #expect(frame == Golden.icmpEchoRequest)
    }

    @Test("reply: type 0, same id/seq/payload, checksum valid")
    func reply() throws {
        let request = try ICMPv4Message(Self.message)
        let replyBytes = try #require(ICMPEchoMessage.reply(to: request))
        let reply = try ICMPv4Message(replyBytes)
        #expect(reply.type == .echoReply)
        #expect(reply.identifier == 7 && reply.sequence == 3)
        #expect(reply.payload == request.payload)
        #expect(reply.isChecksumValid)
        // Only the type changed (8 → 0), so the checksum rises by 0x0800 in ones' complement.
        #expect(reply.checksum == 0x8165)
        #expect(ICMPEchoMessage.reply(to: reply) == nil)
    }

    @Test("Frames.icmpEchoReply swaps addresses and answers only our IP")
    func frameReply() throws {
        let request = try EthernetFrame(Golden.icmpEchoRequest)
        let bytes = try #require(Frames.icmpEchoReply(to: request, ip: Golden.vmIP, mac: Golden.vmMAC))
        let frame = try EthernetFrame(bytes)
        #expect(frame.source == Golden.vmMAC && frame.destination == Golden.peerMAC)
        let ip = try IPv4Packet(frame.payload)
        #expect(ip.source == Golden.vmIP && ip.destination == Golden.peerIP)
        #expect(ip.isChecksumValid)
        #expect(try ICMPv4Message(ip.payload).type == .echoReply)
        #expect(Frames.icmpEchoReply(to: request, ip: IPv4Address(10, 10, 0, 11), mac: Golden.vmMAC) == nil)
    }

    @Test("a flipped payload bit fails the checksum and ICMPEchoMessage rejects it")
    func corrupted() throws {
        var bytes = Self.message
        bytes[40] ^= 0x01
        let icmp = try ICMPv4Message(bytes)
        #expect(!icmp.isChecksumValid)
        #expect(throws: WireError.badChecksum(layer: "ICMP")) { try ICMPEchoMessage(icmp) }
    }

    @Test("non-echo types are rejected by ICMPEchoMessage")
    func nonEcho() throws {
        let unreachable = try ICMPv4Message(Golden.hex("0303 0000 00000000"))
        #expect(throws: WireError.invalidField(layer: "ICMP", field: "type", value: 3)) {
            try ICMPEchoMessage(unreachable)
        }
    }

    @Test("slice at a non-zero index")
    func offsetSlice() throws {
        let icmp = try ICMPv4Message(Golden.offsetSlice(Self.message, offset: 11))
        #expect(icmp.identifier == 7 && icmp.sequence == 3)
        #expect(icmp.isChecksumValid)
        #expect(icmp.payload.count == 56)
    }

    @Test("every length below 8 is truncated", arguments: 0..<8)
    func truncated(length: Int) {
        #expect(throws: WireError.truncated(layer: "ICMP", needed: 8, available: length)) {
            try ICMPv4Message(Array(Self.message.prefix(length)))
        }
    }
}
