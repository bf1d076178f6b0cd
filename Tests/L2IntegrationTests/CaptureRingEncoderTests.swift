import Foundation
import L2Capture
import L2Control
import L2Edge
import L2Wire
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

@Suite("Capture ring and its encoder")
struct CaptureRingEncoderTests {
    /// Reads a little-endian integer at `offset`.
    static func load<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int, as: T.Type) -> T {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    @Test("a pcap ring writes to memory exactly what libpcap writes for the same frames")
    func pcapRingMatchesLibpcap() throws {
        let sink = MemoryCaptureSink()
        let ring = try CaptureRing(sink: sink, encoder: PcapEncoder(snaplen: 200), blockBytes: 4096, blockCount: 3)
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

    @Test("pcapng records are written in place across block boundaries: interfaces, packet ids, notes, egress copies, statistics")
    func pcapngRecordsInPlace() throws {
        let sink = MemoryCaptureSink()
        let interfaces = ["p1", "p2", "p3"].map { CaptureInterface(name: $0, description: "to \($0)") }
        let encoder = PcapngEncoder(snaplen: 1000, interfaces: interfaces, application: "ring test")
        let ring = try CaptureRing(sink: sink, encoder: encoder, egressSnaplen: 128, blockBytes: 4096, blockCount: 3)
        let mac = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10)
        struct Expected { var port: Int; var length: Int; var time: UInt64; var fill: UInt8; var notes: [String]; var egress: [Int] }
        var expected: [Expected] = []
        for index in 0..<300 {
            let length = [60, 1514, 999, 1001, 61, 62, 63][index % 7]
            let fill = UInt8(truncatingIfNeeded: index | 1)
            let time = UInt64(index) * 1_000_003
            let notes: CaptureNotes = index % 11 == 0 ? CaptureNotes([.stationMove(mac, from: 0, to: 2)])
                : index % 13 == 0 ? CaptureNotes([.dropped(.runt), .flooded(unknown: mac)]) : CaptureNotes()
            let egress: UInt64 = index % 4 == 0 ? 0b110 : index % 4 == 1 ? 0b001 : 0
            let record = CaptureRecord(wallNanoseconds: time, originalLength: length, interface: index % 3, egressPorts: egress, notes: notes)
            if index % 3 == 0 {
                let frame = [UInt8](repeating: fill, count: length)
                _ = frame.withUnsafeBytes { ring.write($0, record) }
            } else {
                _ = ring.withFrameSlot(headroom: 10, capacity: 10 + length) { slot, _ in
                    for offset in 0..<10 { slot[offset] = 0xEE }
                    for offset in 10..<10 + length { slot[offset] = fill }
                    return record
                }
            }
            expected.append(Expected(port: index % 3, length: length, time: time, fill: fill,
                                     notes: notes.all.map { $0.text(interfaceNames: ["p1", "p2", "p3"]) },
                                     egress: (0..<3).filter { egress & (1 << UInt64($0)) != 0 }))
        }
        ring.close(statistics: [CaptureStatistics(interface: 1, received: 100, dropped: 3)], wallNanoseconds: 42)

        let file = try PcapngFile(parsing: sink.bytes)
        #expect(file.application == "ring test")
        #expect(file.interfaces.map(\.name) == ["p1", "p2", "p3"])
        #expect(file.interfaces.map(\.description) == ["to p1", "to p2", "to p3"])
        var packets = file.packets[...]
        for (index, want) in expected.enumerated() {
            let first = packets.popFirst()
            let inbound = try #require(first, "record \(index) is missing")
            #expect(inbound.direction == .inbound)
            #expect(inbound.interface == want.port)
            #expect(inbound.packetID == inbound.number, "an inbound record's packet id is its own frame number")
            #expect(inbound.originalLength == want.length)
            #expect(inbound.bytes.count == min(want.length, 1000))
            #expect(inbound.bytes.allSatisfy { $0 == want.fill }, "record \(index) holds its own bytes only")
            #expect(inbound.wallNanoseconds == want.time)
            #expect(inbound.comments == want.notes)
            for port in want.egress {
                let next = packets.popFirst()
                let copy = try #require(next, "record \(index)'s copy to p\(port + 1) is missing")
                #expect(copy.direction == .outbound)
                #expect(copy.interface == port)
                #expect(copy.packetID == inbound.number)
                #expect(copy.bytes == Array(inbound.bytes.prefix(128)))
                #expect(copy.originalLength == want.length)
            }
        }
        #expect(packets.isEmpty, "nothing after the last record")
        #expect(ring.framesWritten == UInt64(file.packets.count))
        #expect(file.statistics.map(\.interface) == [1])
        #expect(file.statistics.first?.received == 100)
        #expect(file.statistics.first?.dropped == 3)
    }

    @Test("a pcap ring refuses egress records: pcap has no directions")
    func pcapRefusesEgress() {
        #expect(throws: ConfigurationError.self) {
            try CaptureRing(sink: MemoryCaptureSink(), encoder: PcapEncoder(snaplen: 200), egressSnaplen: 128)
        }
    }
}
