import Foundation
import L2Edge
import Synchronization
import Testing
@testable import L2Daemons

/// A capture sink that keeps every block in memory: the ring's output without a file.
final class MemoryCaptureSink: CaptureSink, Sendable {
    private let storage = Mutex<(bytes: [UInt8], closed: Bool)>(([], false))

    func write(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        storage.withLock { $0.bytes += bytes }
        return 0
    }

    func close() { storage.withLock { $0.closed = true } }

    var bytes: [UInt8] { storage.withLock { $0.bytes } }
    var isClosed: Bool { storage.withLock { $0.closed } }
}

/// A made-up format shaped like pcapng's packet blocks: a 24-byte header (marker, ingress port,
/// captured and original length, time), the captured bytes, zero padding to 4 bytes and the record's
/// total length as a trailer; the file header lists the interfaces' names. It checks that the ring
/// leaves an encoder room for both and records its trailers in place.
struct TrailerEncoder: CaptureEncoder {
    static let marker: UInt32 = 0x5254_324C
    let snaplen: Int
    var recordHeaderLength: Int { 24 }
    var maximumTrailerLength: Int { 3 + 4 }

    func fileHeader(interfaces: [CaptureInterface]) -> [UInt8] {
        Array(("interfaces:" + interfaces.map(\.name).joined(separator: ",") + ";").utf8)
    }

    func encode(_ record: CaptureRecord, header: UnsafeMutableRawPointer, trailer: UnsafeMutableRawPointer) -> Int {
        header.storeBytes(of: Self.marker, as: UInt32.self)
        header.storeBytes(of: UInt32(record.ingressPort), toByteOffset: 4, as: UInt32.self)
        header.storeBytes(of: UInt32(record.capturedLength), toByteOffset: 8, as: UInt32.self)
        header.storeBytes(of: UInt32(record.originalLength), toByteOffset: 12, as: UInt32.self)
        header.storeBytes(of: record.wallNanoseconds, toByteOffset: 16, as: UInt64.self)
        let padding = (4 - record.capturedLength % 4) % 4
        for index in 0..<padding { trailer.storeBytes(of: 0, toByteOffset: index, as: UInt8.self) }
        trailer.storeBytes(of: UInt32(24 + record.capturedLength + padding + 4), toByteOffset: padding, as: UInt32.self)
        return padding + 4
    }
}

@Suite("Capture ring and its encoder")
struct CaptureRingEncoderTests {
    /// Reads a little-endian integer at `offset`.
    static func load<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int, as: T.Type) -> T {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    @Test("a pcap ring writes to memory exactly what libpcap writes for the same frames")
    func pcapRingMatchesLibpcap() throws {
        let sink = MemoryCaptureSink()
        let ring = try CaptureRing(sink: sink, encoder: PcapEncoder(snaplen: 200), interfaces: [CaptureInterface(name: "p1")],
                                   blockBytes: 4096, blockCount: 3)
        let directory = try CaptureRingTests.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("libpcap.pcap").path
        let writer = try PcapWriter(path: path, snaplen: 200)
        for index in 0..<120 {
            let frame = (0..<[60, 1514, 199, 200, 201][index % 5]).map { UInt8(truncatingIfNeeded: $0 &+ index) }
            let time = 1_700_000_000_999_999_000 + UInt64(index) * 7
            if index % 2 == 0 {
                #expect(frame.withUnsafeBytes { ring.write($0, wallNanoseconds: time) } == UInt64(index + 1))
            } else {
                _ = ring.withFrameSlot(headroom: 10, capacity: 10 + frame.count) { slot, _ in
                    slot.baseAddress!.advanced(by: 10).copyMemory(from: frame, byteCount: frame.count)
                    return CaptureRecord(wallNanoseconds: time, originalLength: frame.count)
                }
            }
            writer.write(frame, wallNanoseconds: time)
        }
        ring.close()
        writer.close()
        #expect(sink.isClosed)
        let libpcap = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(sink.bytes.count == libpcap.count)
        #expect(sink.bytes == libpcap)
    }

    @Test("an encoder with a trailer gets its header and trailer written in place, across block boundaries")
    func trailerEncoderRecordsInPlace() throws {
        let sink = MemoryCaptureSink()
        let interfaces = ["p1", "p2", "p3"].map { CaptureInterface(name: $0) }
        let ring = try CaptureRing(sink: sink, encoder: TrailerEncoder(snaplen: 1000), interfaces: interfaces,
                                   blockBytes: 4096, blockCount: 3)
        var expected: [(port: Int, length: Int, time: UInt64, fill: UInt8)] = []
        for index in 0..<300 {
            let length = [60, 1514, 999, 1001, 61, 62, 63][index % 7]
            let fill = UInt8(truncatingIfNeeded: index | 1)
            let time = UInt64(index) * 1_000_003
            if index % 3 == 0 {
                let frame = [UInt8](repeating: fill, count: length)
                _ = frame.withUnsafeBytes { ring.write($0, wallNanoseconds: time, ingressPort: index % 3) }
            } else {
                _ = ring.withFrameSlot(headroom: 10, capacity: 10 + length) { slot, _ in
                    for offset in 0..<10 { slot[offset] = 0xEE }
                    for offset in 10..<10 + length { slot[offset] = fill }
                    return CaptureRecord(wallNanoseconds: time, originalLength: length, ingressPort: index % 3)
                }
            }
            expected.append((index % 3, length, time, fill))
        }
        ring.close()

        let bytes = sink.bytes
        let fileHeader = Array("interfaces:p1,p2,p3;".utf8)
        #expect(Array(bytes.prefix(fileHeader.count)) == fileHeader)
        var offset = fileHeader.count
        for (index, want) in expected.enumerated() {
            try #require(offset + 24 <= bytes.count, "record \(index) is missing")
            #expect(Self.load(bytes, offset, as: UInt32.self) == TrailerEncoder.marker)
            #expect(Self.load(bytes, offset + 4, as: UInt32.self) == UInt32(want.port))
            let captured = Int(Self.load(bytes, offset + 8, as: UInt32.self))
            #expect(captured == min(want.length, 1000))
            #expect(Self.load(bytes, offset + 12, as: UInt32.self) == UInt32(want.length))
            #expect(Self.load(bytes, offset + 16, as: UInt64.self) == want.time)
            let data = bytes[(offset + 24)..<(offset + 24 + captured)]
            #expect(data.allSatisfy { $0 == want.fill }, "record \(index) holds its own bytes only")
            let padding = (4 - captured % 4) % 4
            #expect(bytes[(offset + 24 + captured)..<(offset + 24 + captured + padding)].allSatisfy { $0 == 0 })
            let total = Int(Self.load(bytes, offset + 24 + captured + padding, as: UInt32.self))
            #expect(total == 24 + captured + padding + 4)
            offset += total
        }
        #expect(offset == bytes.count, "nothing after the last record")
    }
}
