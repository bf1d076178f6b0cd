import Foundation
import L2Capture
import L2Edge
import Testing

/// The pcap encoder against golden bytes, and against the file libpcap's own `pcap_dump` writes.
@Suite("pcap encoder")
struct PcapEncoderTests {
    static let stamp: UInt64 = 1_795_889_107_451_780_123

    /// Encodes `record` with its frame bytes the way a capture ring lays it out: header, then data.
    static func encoded(_ encoder: PcapEncoder, _ frame: [UInt8], at stamp: UInt64) -> [UInt8] {
        let captured = min(frame.count, encoder.snaplen)
        var bytes = [UInt8](repeating: 0xEE, count: encoder.recordHeaderLength + captured + encoder.maximumTrailerLength)
        let trailer = bytes.withUnsafeMutableBytes { raw in
            raw.baseAddress!.advanced(by: encoder.recordHeaderLength).copyMemory(from: frame, byteCount: captured)
            let record = CaptureRecord(wallNanoseconds: stamp, originalLength: frame.count, capturedLength: captured, interface: 2)
            return encoder.encode(record, header: raw.baseAddress!, trailer: raw.baseAddress! + encoder.recordHeaderLength + captured)
        }
        #expect(trailer == 0, "pcap records have no trailer")
        return bytes
    }

    @Test("file header: nanosecond magic, version 2.4, zone 0, sigfigs 0, snaplen, LINKTYPE_ETHERNET")
    func fileHeaderGoldenBytes() {
        let header = PcapEncoder(snaplen: 65535).fileHeader()
        #expect(header == [0x4d, 0x3c, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                           0xff, 0xff, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00])
    }

    @Test("record: seconds, nanoseconds, captured and original length, then the frame's bytes")
    func recordGoldenBytes() {
        let record = Self.encoded(PcapEncoder(snaplen: 65535), Frames.arpRequest, at: Self.stamp)
        #expect(Array(record.prefix(16)) == [0xd3, 0x17, 0x0b, 0x6b, 0x1b, 0x9e, 0xed, 0x1a, 0x3c, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00])
        #expect(Array(record.dropFirst(16)) == Frames.arpRequest)
    }

    @Test("a frame longer than the snaplen keeps its original length and only snaplen bytes")
    func truncatedRecord() {
        let long = Frames.icmpEcho(payload: 1472)
        let record = Self.encoded(PcapEncoder(snaplen: 64), long, at: 5)
        #expect(record.count == 16 + 64)
        #expect(Array(record[8..<16]) == [64, 0, 0, 0, 0xea, 0x05, 0, 0], "captured 64, original 1514")
        #expect(Array(record.dropFirst(16)) == Array(long.prefix(64)))
    }

    @Test("header and records are byte for byte what libpcap's pcap_dump writes")
    func sameBytesAsLibpcap() throws {
        try withTemporaryDirectory { directory throws in
            let frames = [Frames.arpRequest, Frames.icmpEcho(), Frames.icmpEcho(payload: 1472)]
            let stamps: [UInt64] = [Self.stamp, Self.stamp + 1, 1_795_889_108_999_999_999]
            let path = "\(directory)/libpcap.pcap"
            let writer = try PcapWriter(path: path, snaplen: 1000)
            for (frame, stamp) in zip(frames, stamps) { writer.write(frame, wallNanoseconds: stamp) }
            writer.close()
            let encoder = PcapEncoder(snaplen: 1000)
            var ours = encoder.fileHeader()
            for (frame, stamp) in zip(frames, stamps) { ours += Self.encoded(encoder, frame, at: stamp) }
            let theirs = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(ours == theirs)
        }
    }
}
