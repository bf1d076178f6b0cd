import Testing
@testable import L2Wire

@Suite("TCP")
struct TCPTests {
    static let segment = Array(Golden.tcpSYN[34...])

    @Test("Linux SYN decodes field by field")
    func decode() throws {
        let tcp = try TCPSegment(Self.segment)
        #expect(tcp.sourcePort == 40000)
        #expect(tcp.destinationPort == 8000)
        #expect(tcp.sequenceNumber == 1000)
        #expect(tcp.acknowledgmentNumber == 0)
        #expect(tcp.dataOffset == 10)
        #expect(tcp.headerLength == 40)
        #expect(tcp.flags == .syn)
        #expect(tcp.window == 64240)
        #expect(tcp.checksum == 0x96e3)
        #expect(tcp.urgentPointer == 0)
        #expect(Array(tcp.options) == Golden.tcpSYNOptions)
        #expect(tcp.payload.isEmpty)
        #expect(tcp.isChecksumValid(source: Golden.peerIP, destination: Golden.vmIP))
        #expect(!tcp.isChecksumValid(source: Golden.vmIP, destination: Golden.peerIP.successor))
    }

    @Test("build reproduces the SYN, and the whole frame via IPv4 and Ethernet")
    func build() {
        let segment = TCPSegment.build(source: Golden.peerIP, destination: Golden.vmIP, sourcePort: 40000,
                                       destinationPort: 8000, sequenceNumber: 1000, flags: .syn, window: 64240,
                                       options: Golden.tcpSYNOptions)
        #expect(segment == Self.segment)
        let packet = IPv4Packet.build(source: Golden.peerIP, destination: Golden.vmIP, protocol: .tcp,
                                      payload: segment, identification: 0x3344)
        #expect(EthernetFrame.build(destination: Golden.vmMAC, source: Golden.peerMAC, etherType: .ipv4,
                                    payload: packet) == Golden.tcpSYN)
    }

    @Test("flags decode and print in tcpdump order",
          arguments: [(UInt8(0x02), "S"), (0x12, "S."), (0x10, "."), (0x18, "P."), (0x11, "F."),
                      (0x04, "R"), (0x14, "R."), (0x19, "FP."), (0x00, "none"), (0xC2, "SEW")])
    func flags(raw: UInt8, text: String) {
        #expect(TCPFlags(rawValue: raw).description == text)
    }

    @Test("payload follows the options, read from a non-zero slice")
    func payload() throws {
        let bytes = TCPSegment.build(source: Golden.peerIP, destination: Golden.vmIP, sourcePort: 40000,
                                     destinationPort: 8000, sequenceNumber: 1001, acknowledgmentNumber: 2001,
                                     flags: [.psh, .ack], window: 502, options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2],
                                     payload: Array("hello".utf8))
        let tcp = try TCPSegment(Golden.offsetSlice(bytes, offset: 54))
        #expect(tcp.headerLength == 32)
        #expect(tcp.flags == [.psh, .ack])
        #expect(tcp.acknowledgmentNumber == 2001)
        #expect(Array(tcp.payload) == Array("hello".utf8))
        #expect(tcp.isChecksumValid(source: Golden.peerIP, destination: Golden.vmIP))
    }

    @Test("an IPv6 segment's checksum covers the IPv6 pseudo-header (checksum computed independently)")
    func buildIPv6() throws {
        let client = IPAddress.v6(IPv6Address(high: 0xFD00 << 48, low: 0x100))
        let vm = IPAddress.v6(IPv6Address(high: 0xFD00 << 48, low: 0x10))
        let bytes = TCPSegment.build(source: client, destination: vm, sourcePort: 40000, destinationPort: 80,
                                     sequenceNumber: 1000, acknowledgmentNumber: 2000, flags: [.psh, .ack], window: 502,
                                     payload: Array("ping\n".utf8))
        let tcp = try TCPSegment(bytes)
        #expect(tcp.checksum == 0x21a7)
        #expect(tcp.isChecksumValid(source: client, destination: vm))
        #expect(!tcp.isChecksumValid(source: vm, destination: .v6(IPv6Address(high: 0xFD00 << 48, low: 0x101))))
        #expect(!tcp.isChecksumValid(source: .v4(Golden.peerIP), destination: vm))
        // The IPv4 overload and the family-independent one build the same bytes.
        #expect(TCPSegment.build(source: .v4(Golden.peerIP), destination: .v4(Golden.vmIP), sourcePort: 40000,
                                 destinationPort: 8000, sequenceNumber: 1000, flags: .syn, window: 64240,
                                 options: Golden.tcpSYNOptions) == Self.segment)
    }

    @Test("every length below 20 is truncated", arguments: 0..<20)
    func truncated(length: Int) {
        #expect(throws: WireError.truncated(layer: "TCP", needed: 20, available: length)) {
            try TCPSegment(Array(Self.segment.prefix(length)))
        }
    }

    @Test("options beyond the bytes given are truncated", arguments: 20..<40)
    func truncatedOptions(length: Int) {
        #expect(throws: WireError.truncated(layer: "TCP", needed: 40, available: length)) {
            try TCPSegment(Array(Self.segment.prefix(length)))
        }
    }

    @Test("data offset below 5 is invalid", arguments: 0..<5)
    func dataOffset(offset: UInt8) {
        var bytes = Self.segment
        bytes[12] = offset << 4
        #expect(throws: WireError.invalidField(layer: "TCP", field: "data offset", value: Int(offset))) {
            try TCPSegment(bytes)
        }
    }
}

extension IPv4Address {
    var successor: IPv4Address { IPv4Address(rawValue: rawValue &+ 1) }
}
