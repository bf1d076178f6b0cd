import Testing
@testable import L2Wire

@Suite("virtio-net header")
struct VirtioNetHeaderTests {
    /// NEEDS_CSUM, GSO TCPv4, hdr_len 66, gso_size 1448, csum_start 34, csum_offset 16 (little-endian).
    static let tsoBytes: [UInt8] = [0x01, 0x01, 0x42, 0x00, 0xa8, 0x05, 0x22, 0x00, 0x10, 0x00]

    /// An Ethernet + IPv4 + TCP (32-byte header, as Linux sends with timestamps) super-frame carrying
    /// `payload` bytes.
    static func tcpSuperFrame(payload: Int) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: 14 + 20 + 32 + payload)
        frame[12] = 0x08
        frame[14] = 0x45
        frame[23] = 6
        frame[14 + 20 + 12] = 8 << 4  // data offset: 8 words
        return frame
    }

    @Test("parses and writes the kernel's little-endian layout")
    func roundTrip() throws {
        let header = try Self.tsoBytes.withUnsafeBytes { try VirtioNetHeader(parsing: $0) }
        #expect(header.needsChecksum)
        #expect(header.segmentation == .tcpIPv4)
        #expect(header.isSuperFrame)
        #expect(header.headerLength == 66 && header.segmentSize == 1448)
        #expect(header.checksumStart == 34 && header.checksumOffset == 16)
        var written = [UInt8](repeating: 0xee, count: 10)
        written.withUnsafeMutableBytes { header.write(to: $0) }
        #expect(written == Self.tsoBytes)
        #expect(!VirtioNetHeader.plain.needsChecksum && !VirtioNetHeader.plain.isSuperFrame)
    }

    @Test("a header shorter than 10 bytes is rejected", arguments: 0..<10)
    func truncated(length: Int) {
        let bytes = Array(Self.tsoBytes.prefix(length))
        #expect(throws: WireError.truncated(layer: "virtio-net header", needed: 10, available: length)) {
            try bytes.withUnsafeBytes { try VirtioNetHeader(parsing: $0) }
        }
    }

    @Test("headers that do not fit their frame are named")
    func problems() {
        let frame = Self.tcpSuperFrame(payload: 4000)
        func problem(_ header: VirtioNetHeader) -> String? { frame.withUnsafeBytes { header.problem(with: $0) } }
        let good = VirtioNetHeader(flags: 1, segmentationType: 1, headerLength: 66, segmentSize: 1448,
                                   checksumStart: 34, checksumOffset: 16)
        #expect(problem(good) == nil)
        var ecn = good
        ecn.segmentationType = 0x81
        #expect(problem(ecn) == nil)
        var unknown = good
        unknown.segmentationType = 2
        #expect(problem(unknown) == "unknown segmentation type 2")
        var outside = good
        outside.checksumStart = UInt16(frame.count - 10)
        outside.checksumOffset = 16
        #expect(problem(outside) == "checksum at \(frame.count - 10)+16 lies outside the \(frame.count)-byte frame")
        var inHeader = good
        inHeader.checksumStart = 4
        #expect(problem(inHeader) != nil)
        var noSize = good
        noSize.segmentSize = 0
        #expect(problem(noSize) == "super-frame without a segment size")
        var noChecksum = good
        noChecksum.flags = 0
        #expect(problem(noChecksum) == "super-frame without a partial checksum")
        #expect(problem(.plain) == nil)
    }

    @Test("a TCP super-frame stands for frames of headers plus one segment")
    func largestWireFrame() {
        let header = VirtioNetHeader(flags: 1, segmentationType: 1, headerLength: 66, segmentSize: 1448,
                                     checksumStart: 34, checksumOffset: 16)
        let frame = Self.tcpSuperFrame(payload: 64_000)
        #expect(frame.withUnsafeBytes { header.largestWireFrame(of: $0) } == 14 + 20 + 32 + 1448)
        // A super-frame shorter than one segment stands for itself.
        let short = Self.tcpSuperFrame(payload: 100)
        #expect(short.withUnsafeBytes { header.largestWireFrame(of: $0) } == short.count)
        #expect(frame.withUnsafeBytes { VirtioNetHeader.plain.largestWireFrame(of: $0) } == frame.count)
    }

    @Test("a partial UDP checksum is completed exactly as a NIC would")
    func completesChecksum() throws {
        // The golden UDP frame has a correct checksum; replace it with what the kernel leaves for
        // the device: the folded pseudo-header sum.
        let golden = Golden.udp
        var partial = golden
        let pseudo = InternetChecksum.pseudoHeader(source: Golden.peerIP, destination: Golden.vmIP, protocol: .udp, length: 16)
        partial[40] = UInt8(pseudo.foldedSum >> 8)
        partial[41] = UInt8(pseudo.foldedSum & 0xff)
        #expect(partial != golden)
        let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksumFlag, segmentationType: 0, headerLength: 0,
                                     segmentSize: 0, checksumStart: 34, checksumOffset: 6)
        #expect(partial.withUnsafeBytes { header.problem(with: $0) } == nil)
        let passed = partial.withUnsafeMutableBytes { header.completingChecksum(in: $0) }
        #expect(partial == golden)
        #expect(!passed.needsChecksum)
        #expect(passed.flags == VirtioNetHeader.dataValidFlag)
        #expect(passed.checksumStart == 0 && passed.checksumOffset == 0)
    }

    @Test("a super-frame keeps its partial checksum for the segments")
    func superFrameUntouched() {
        let header = VirtioNetHeader(flags: 1, segmentationType: 1, headerLength: 66, segmentSize: 1448,
                                     checksumStart: 34, checksumOffset: 16)
        var frame = Self.tcpSuperFrame(payload: 3000)
        let before = frame
        let passed = frame.withUnsafeMutableBytes { header.completingChecksum(in: $0) }
        #expect(frame == before)
        #expect(passed == header)
    }
}
