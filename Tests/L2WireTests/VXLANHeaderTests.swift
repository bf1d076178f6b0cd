import Testing
@testable import L2Wire

/// The 8-byte VXLAN header (RFC 7348, section 5): flags with the I bit, 3 reserved bytes, the 24-bit
/// VNI, one reserved byte.
@Suite("VXLAN header")
struct VXLANHeaderTests {
    static func parse(_ bytes: [UInt8]) -> VXLANHeader? {
        bytes.withUnsafeBytes { VXLANHeader(parsing: $0) }
    }

    @Test("writes the I flag, zero reserved bytes and the VNI big-endian in bytes 4-6")
    func bytes() {
        #expect(VXLANHeader(vni: 0x12_3456).bytes == [0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0])
        #expect(VXLANHeader(vni: 1).bytes == [0x08, 0, 0, 0, 0, 0, 1, 0])
        #expect(VXLANHeader(vni: 0xFF_FFFF).bytes == [0x08, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0])
        #expect(VXLANHeader.length == 8 && VXLANHeader(vni: 42).bytes.count == VXLANHeader.length)
    }

    @Test("reads back what it writes", arguments: [UInt32(1), 100, 4789, 0x80_0000, 0xFF_FFFF])
    func roundTrip(vni: UInt32) {
        #expect(Self.parse(VXLANHeader(vni: vni).bytes) == VXLANHeader(vni: vni))
    }

    @Test("the VNI is 24 bits: a wider value keeps its low 24 bits")
    func twentyFourBits() {
        #expect(VXLANHeader(vni: 0x0100_0001).vni == 1)
        #expect(VXLANHeader(vni: 0xFFFF_FFFF).vni == 0xFF_FFFF)
        #expect(VXLANHeader(vni: 0x0123_4567).bytes == [0x08, 0, 0, 0, 0x23, 0x45, 0x67, 0])
    }

    @Test("a header without the I flag is refused, whatever its other bits")
    func flagRequired() {
        #expect(Self.parse([0x00, 0, 0, 0, 0, 0, 7, 0]) == nil)
        #expect(Self.parse([0xF7, 0, 0, 0, 0, 0, 7, 0]) == nil, "every flag bit but I")
    }

    @Test("reserved bits and bytes are ignored on receipt (RFC 7348: set to zero, ignored)")
    func reservedIgnored() {
        #expect(Self.parse([0xFF, 0xAA, 0xBB, 0xCC, 0x00, 0x01, 0x02, 0xDD])?.vni == 0x102)
    }

    @Test("a header shorter than 8 bytes is refused", arguments: 0..<8)
    func truncated(length: Int) {
        #expect(Self.parse(Array(VXLANHeader(vni: 5).bytes.prefix(length))) == nil)
    }

    @Test("bytes after the header (the frame) are not read as part of it")
    func followedByFrame() {
        let datagram = VXLANHeader(vni: 300).bytes + [UInt8](repeating: 0xEE, count: 60)
        #expect(Self.parse(datagram)?.vni == 300)
    }
}
