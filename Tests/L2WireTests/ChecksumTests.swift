import Testing
@testable import L2Wire

@Suite("Internet checksum (RFC 1071)")
struct ChecksumTests {
    @Test("RFC 1071 section 3 example sums to 0xddf2, checksum 0x220d")
    func rfc1071Example() {
        var sum = InternetChecksum()
        sum.add([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7] as [UInt8])
        #expect(sum.foldedSum == 0xddf2)
        #expect(sum.value == 0x220d)
    }

    @Test("Wikipedia IPv4 header example: checksum 0xb861, and the full header verifies to 0")
    func ipv4HeaderExample() {
        let header = Golden.hex("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7")
        #expect(InternetChecksum.compute(header) == 0xb861)
        var filled = header
        filled[10] = 0xb8; filled[11] = 0x61
        #expect(InternetChecksum.compute(filled) == 0)
    }

    @Test("odd length pads with a zero byte")
    func oddLength() {
        #expect(InternetChecksum.compute([0x12, 0x34, 0x56] as [UInt8]) == ~UInt16(0x1234 + 0x5600))
        #expect(InternetChecksum.compute([UInt8]()) == 0xFFFF)
    }

    @Test("split across add calls at every point, including odd splits, equals one add",
          arguments: 0...17)
    func splitting(at split: Int) {
        let bytes: [UInt8] = (0..<17).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 200) }
        var whole = InternetChecksum()
        whole.add(bytes)
        var parts = InternetChecksum()
        parts.add(bytes[..<split])
        parts.add(bytes[split...])
        #expect(parts == whole)
        #expect(parts.value == whole.value)
    }

    @Test("non-contiguous collections (byte-at-a-time path) agree with the fast path")
    func nonContiguous() {
        let bytes: [UInt8] = (0..<101).map { UInt8(truncatingIfNeeded: $0 &* 91 &+ 3) }
        let lazy = bytes.lazy.map { $0 }  // not contiguous
        var odd = InternetChecksum()
        odd.add([0xAB] as [UInt8])
        odd.add(lazy)
        var reference = InternetChecksum()
        reference.add([0xAB] + bytes)
        #expect(InternetChecksum.compute(lazy) == InternetChecksum.compute(bytes))
        #expect(odd.value == reference.value)
    }

    @Test("carries fold: 0xffff words")
    func carries() {
        let bytes = [UInt8](repeating: 0xFF, count: 1000)
        #expect(InternetChecksum.compute(bytes) == 0x0000)
        #expect(InternetChecksum.compute([0xFF, 0xFF, 0x00, 0x01] as [UInt8]) == 0xFFFE)
    }

    @Test("pseudo-header equals summing the 12 bytes explicitly")
    func pseudoHeader() {
        var explicit = InternetChecksum()
        explicit.add(Golden.hex("0a0a0064 0a0a000a 00 11 0010"))
        let pseudo = InternetChecksum.pseudoHeader(source: Golden.peerIP, destination: Golden.vmIP,
                                                   protocol: .udp, length: 16)
        #expect(pseudo.value == explicit.value)
    }
}
