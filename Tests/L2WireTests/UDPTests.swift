import Testing
@testable import L2Wire

@Suite("UDP")
struct UDPTests {
    static let datagram = Array(Golden.udp[34..<50])
    static let payload = Array("l2motion".utf8)

    @Test("decodes field by field with a valid pseudo-header checksum")
    func decode() throws {
        let udp = try UDPDatagram(Self.datagram)
        #expect(udp.sourcePort == 40000)
        #expect(udp.destinationPort == 7777)
        #expect(udp.length == 16)
        #expect(udp.checksum == 0x7331)
        #expect(Array(udp.payload) == Self.payload)
        #expect(udp.isChecksumValid(source: Golden.peerIP, destination: Golden.vmIP))
        // The pseudo-header matters: the same bytes from another source do not verify.
        #expect(!udp.isChecksumValid(source: IPv4Address(10, 10, 0, 101), destination: Golden.vmIP))
    }

    @Test("build reproduces the datagram and the whole padded frame")
    func build() {
        #expect(UDPDatagram.build(source: Golden.peerIP, destination: Golden.vmIP, sourcePort: 40000,
                                  destinationPort: 7777, payload: Self.payload) == Self.datagram)
        let frame = Frames.udp(sourceMAC: Golden.peerMAC, destinationMAC: Golden.vmMAC,
                               source: Golden.peerIP, destination: Golden.vmIP,
                               sourcePort: 40000, destinationPort: 7777, payload: Self.payload,
                               identification: 0x2a2a)
        #expect(frame == Golden.udp)
    }

    @Test("a computed checksum of zero is sent as 0xFFFF")
    func zeroChecksum() throws {
        // Choose the last two payload bytes so the sum is 0xFFFF and the checksum 0.
        let source = Golden.peerIP, destination = Golden.vmIP
        var probe = InternetChecksum.pseudoHeader(source: source, destination: destination, protocol: .udp, length: 10)
        probe.add(Golden.hex("0001 0002 000a 0000"))
        let filler = probe.foldedSum == 0xFFFF ? 0xFFFF : 0xFFFF - probe.foldedSum
        let bytes = UDPDatagram.build(source: source, destination: destination, sourcePort: 1, destinationPort: 2,
                                      payload: [UInt8(filler >> 8), UInt8(filler & 0xFF)])
        #expect(bytes[6] == 0xFF && bytes[7] == 0xFF)
        #expect(try UDPDatagram(bytes).isChecksumValid(source: source, destination: destination))
    }

    @Test("checksum 0 means none and is accepted")
    func noChecksum() throws {
        var bytes = Self.datagram
        bytes[6] = 0; bytes[7] = 0
        #expect(try UDPDatagram(bytes).isChecksumValid(source: .any, destination: .any))
        bytes[6] = 0x12
        #expect(try !UDPDatagram(bytes).isChecksumValid(source: Golden.peerIP, destination: Golden.vmIP))
    }

    @Test("payload is bounded by the UDP length")
    func bounded() throws {
        let udp = try UDPDatagram(Self.datagram + [0xAA, 0xBB])
        #expect(udp.payload.count == 8)
        #expect(udp.bytes.count == 16)
    }

    @Test("slice at a non-zero index")
    func offsetSlice() throws {
        let udp = try UDPDatagram(Golden.offsetSlice(Self.datagram, offset: 34))
        #expect(udp.destinationPort == 7777)
        #expect(Array(udp.payload) == Self.payload)
        #expect(udp.isChecksumValid(source: Golden.peerIP, destination: Golden.vmIP))
    }

    @Test("every length below 8 is truncated", arguments: 0..<8)
    func truncatedHeader(length: Int) {
        #expect(throws: WireError.truncated(layer: "UDP", needed: 8, available: length)) {
            try UDPDatagram(Array(Self.datagram.prefix(length)))
        }
    }

    @Test("fewer bytes than the UDP length is truncated", arguments: 8..<16)
    func truncatedBody(length: Int) {
        #expect(throws: WireError.truncated(layer: "UDP", needed: 16, available: length)) {
            try UDPDatagram(Array(Self.datagram.prefix(length)))
        }
    }

    @Test("a length field below 8 is invalid", arguments: 0..<8)
    func invalidLength(length: Int) {
        var bytes = Self.datagram
        bytes[4] = 0; bytes[5] = UInt8(length)
        #expect(throws: WireError.invalidField(layer: "UDP", field: "length", value: length)) { try UDPDatagram(bytes) }
    }
}
