import L2Capture
import L2Switch
import L2Wire
import Testing

/// The pcapng encoder: records written in place as a capture ring lays them out, read back by the
/// reader, and byte-equal to the block builder's packets.
@Suite("pcapng encoder")
struct PcapngEncoderTests {
    static let stamp: UInt64 = 1_795_889_107_451_780_123
    static let interfaces = [CaptureInterface(name: "client01", description: "eth0 of client01"),
                             CaptureInterface(name: "esx01", description: "vmnic0 of host esx01"),
                             CaptureInterface(name: "esx02", description: "vmnic0 of host esx02")]
    static let vm = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10)

    static func encoder(snaplen: Int = 65535, filter: String? = nil) -> PcapngEncoder {
        PcapngEncoder(snaplen: snaplen, interfaces: interfaces, application: "l2motion test", filter: filter)
    }

    /// Encodes `record` around `frame` the way the ring does: header, frame, trailer.
    static func encoded(_ encoder: PcapngEncoder, _ frame: [UInt8], _ record: CaptureRecord) -> [UInt8] {
        var record = record
        record.capturedLength = min(frame.count, encoder.snaplen)
        let captured = record.capturedLength
        var bytes = [UInt8](repeating: 0xEE, count: encoder.recordHeaderLength + captured + encoder.maximumTrailerLength)
        let trailer = bytes.withUnsafeMutableBytes { raw in
            raw.baseAddress!.advanced(by: encoder.recordHeaderLength).copyMemory(from: frame, byteCount: captured)
            return encoder.encode(record, header: raw.baseAddress!, trailer: raw.baseAddress! + encoder.recordHeaderLength + captured)
        }
        #expect(trailer <= encoder.maximumTrailerLength)
        return Array(bytes[0..<encoder.recordHeaderLength + captured + trailer])
    }

    static let frame: [UInt8] = (0..<61).map { UInt8($0) }

    @Test("a record written in place equals the block builder's enhanced packet block")
    func inPlaceEqualsBuilder() {
        let encoder = Self.encoder()
        let notes = CaptureNotes([.stationMove(Self.vm, from: 1, to: 2)])
        let record = CaptureRecord(wallNanoseconds: Self.stamp, originalLength: 61, interface: 2, packetID: 4711, notes: notes)
        let built = PcapngBlocks.enhancedPacket(interface: 2, wallNanoseconds: Self.stamp, originalLength: 61, bytes: Self.frame,
                                                direction: .inbound, packetID: 4711,
                                                comments: ["station move 00:50:56:00:00:10 esx01 → esx02"])
        #expect(Self.encoded(encoder, Self.frame, record) == built)
        #expect(built.count % 4 == 0)
    }

    @Test("file header, records and statistics read back: names, descriptions, filter, direction, packet id, comments")
    func roundTrip() throws {
        let encoder = Self.encoder(snaplen: 40, filter: "not tcp port 8000")
        var file = encoder.fileHeader()
        file += Self.encoded(encoder, Self.frame, CaptureRecord(wallNanoseconds: Self.stamp, originalLength: 61, interface: 0, packetID: 1))
        file += Self.encoded(encoder, Self.frame, CaptureRecord(wallNanoseconds: Self.stamp + 5, originalLength: 61, interface: 1,
                                                                 direction: .outbound, packetID: 1,
                                                                 notes: CaptureNotes([.notDelivered(to: 1, .queueFull), .flooded(unknown: Self.vm)])))
        file += encoder.closingBytes(statistics: [CaptureStatistics(interface: 0, received: 10, dropped: 2),
                                                  CaptureStatistics(interface: 2, received: 7, dropped: 0)], wallNanoseconds: Self.stamp + 9)
        let read = try PcapngFile(parsing: file)
        #expect(read.application == "l2motion test")
        #expect(read.interfaces.map(\.name) == ["client01", "esx01", "esx02"])
        #expect(read.interfaces.map(\.description) == ["eth0 of client01", "vmnic0 of host esx01", "vmnic0 of host esx02"])
        #expect(read.interfaces.allSatisfy { $0.unitsPerSecond == 1_000_000_000 && $0.snaplen == 40 && $0.filter == "not tcp port 8000" })
        #expect(read.packets.count == 2)
        #expect(read.packets[0].bytes == Array(Self.frame[0..<40]))
        #expect(read.packets[0].originalLength == 61)
        #expect(read.packets[0].wallNanoseconds == Self.stamp)
        #expect(read.packets[0].direction == .inbound)
        #expect(read.packets[0].comments.isEmpty)
        #expect(read.packets[1].number == 2)
        #expect(read.packets[1].interface == 1)
        #expect(read.packets[1].direction == .outbound)
        #expect(read.packets[1].packetID == 1)
        #expect(read.packets[1].comments == ["not delivered to esx01: queue full", "flooded: 00:50:56:00:00:10 unknown"])
        #expect(read.statistics.map(\.interface) == [0, 2])
        #expect(read.statistics.map(\.received) == [10, 7])
        #expect(read.statistics.map(\.dropped) == [2, 0])
        #expect(read.statistics[0].wallNanoseconds == Self.stamp + 9)
    }

    @Test("every length of frame pads to a 4-byte boundary", arguments: 0..<8)
    func padding(extra: Int) throws {
        let encoder = Self.encoder()
        let frame = [UInt8](repeating: 0xAB, count: 60 + extra)
        let record = Self.encoded(encoder, frame, CaptureRecord(wallNanoseconds: 1, originalLength: frame.count, packetID: 3))
        #expect(record.count % 4 == 0)
        let read = try PcapngFile(parsing: encoder.fileHeader() + record)
        #expect(read.packets.first?.bytes == frame)
    }

    @Test("a long comment is cut at a character boundary, and the block stays well formed")
    func longComment() throws {
        let names = [String](repeating: "ä", count: 150).joined()
        let encoder = PcapngEncoder(snaplen: 100, interfaces: [CaptureInterface(name: names), CaptureInterface(name: "b")], application: "t")
        let record = Self.encoded(encoder, Self.frame, CaptureRecord(wallNanoseconds: 1, originalLength: 61, interface: 1,
                                                                     notes: CaptureNotes([.unicastAfterMove(to: 1, was: 0, movedAt: 9)])))
        let comment = try #require(try PcapngFile(parsing: encoder.fileHeader() + record).packets.first?.comments.first)
        #expect(comment.utf8.count <= PcapngBlocks.maximumCommentBytes)
        #expect(comment.hasPrefix("unicast to b, was ää"))
        #expect(!comment.contains("\u{FFFD}"))
    }
}

/// The notes' texts, as the captures show them.
@Suite("capture notes")
struct CaptureNoteTests {
    let names = ["client01", "esx01", "esx02"]

    @Test("each decision reads as the issue's wording")
    func texts() {
        let mac = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10)
        #expect(CaptureNote.stationMove(mac, from: 1, to: 2).text(interfaceNames: names) == "station move 00:50:56:00:00:10 esx01 → esx02")
        #expect(CaptureNote.unicastAfterMove(to: 2, was: 1, movedAt: 4711).text(interfaceNames: names) == "unicast to esx02, was esx01 until packet 4711")
        #expect(CaptureNote.flooded(unknown: mac).text(interfaceNames: names) == "flooded: 00:50:56:00:00:10 unknown")
        #expect(CaptureNote.dropped(.badSource).text(interfaceNames: names) == "dropped: multicast source")
        #expect(CaptureNote.dropped(.portDown).text(interfaceNames: names) == "dropped: port down")
        #expect(CaptureNote.evicted(mac, from: 0).text(interfaceNames: names) == "table full: learning the source evicted 00:50:56:00:00:10 (on client01)")
        #expect(CaptureNote.notDelivered(to: 7, .queueFull).text(interfaceNames: names) == "not delivered to port 8: queue full")
    }

    @Test("software segmentation says how many segments went where, and why a super-frame went nowhere")
    func segmentationTexts() {
        #expect(CaptureNote.segmented(to: 2, sent: 45, of: 45).text(interfaceNames: names) == "sent to esx02 as 45 segments (software segmentation)")
        #expect(CaptureNote.segmented(to: 1, sent: 1, of: 1).text(interfaceNames: names) == "sent to esx01 as 1 segment (software segmentation)")
        #expect(CaptureNote.segmented(to: 1, sent: 40, of: 45).text(interfaceNames: names)
                == "sent to esx01 as 40 of 45 segments (software segmentation; 5 refused: queue full)")
        #expect(CaptureNote.unsegmentable(to: 0).text(interfaceNames: names)
                == "not delivered to client01: a super-frame for a port without offloads that could not be segmented (offload header does not fit the frame)")
    }

    @Test("every drop reason has its own explanation")
    func reasons() {
        let texts = Set(DropReason.allCases.map(CaptureNote.explain))
        #expect(texts.count == DropReason.allCases.count)
    }

    @Test("two notes are kept, a third is not")
    func capacity() {
        var notes = CaptureNotes()
        #expect(notes.isEmpty)
        notes.add(.dropped(.runt))
        notes.add(.dropped(.oversize))
        notes.add(.dropped(.portDown))
        #expect(notes.all == [.dropped(.runt), .dropped(.oversize)])
    }
}

/// The reader against damaged input and the other byte order.
@Suite("pcapng reader")
struct PcapngReaderTests {
    @Test("not pcapng, truncated blocks and mismatched lengths are named")
    func damaged() {
        #expect(throws: CaptureFormatError.self) { try PcapngFile(parsing: [0xD4, 0xC3, 0xB2, 0xA1] + [UInt8](repeating: 0, count: 20)) }
        let header = PcapngBlocks.sectionHeader(application: "x")
        #expect(throws: CaptureFormatError.self) { try PcapngFile(parsing: Array(header.dropLast(4))) }
        var wrongTrailer = header
        wrongTrailer[wrongTrailer.count - 4] ^= 0x04
        #expect(throws: CaptureFormatError.self) { try PcapngFile(parsing: wrongTrailer) }
        let packet = PcapngBlocks.enhancedPacket(interface: 0, wallNanoseconds: 1, originalLength: 1, bytes: [1],
                                                 direction: nil, packetID: nil, comments: [])
        do {
            _ = try PcapngFile(parsing: header + packet)
            Issue.record("a packet on an undescribed interface was accepted")
        } catch {
            #expect(error.message.contains("names interface 0"))
        }
    }

    @Test("a filtered read keeps only what the predicate accepts, each packet with its number in the file")
    func keeping() throws {
        let encoder = PcapngEncoderTests.encoder()
        var file = encoder.fileHeader()
        for index in 0..<6 {
            file += PcapngEncoderTests.encoded(encoder, [UInt8](repeating: UInt8(index), count: 60),
                                               CaptureRecord(wallNanoseconds: UInt64(index), originalLength: 60,
                                                             direction: index % 2 == 0 ? .inbound : .outbound, packetID: 1))
        }
        let read = try file.withUnsafeBytes { bytes in
            try PcapngFile(parsing: bytes) { direction, frame in direction == .inbound && frame.first != 4 }
        }
        #expect(read.packets.map(\.number) == [1, 3])
        #expect(read.packets.map { $0.bytes[0] } == [0, 2])
    }

    /// A little-endian file with one interface of resolution byte `resolution` and `blocks` after it.
    static func file(resolution: UInt8, _ blocks: [UInt8]) -> [UInt8] {
        func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] { le32(type) + le32(UInt32(12 + body.count)) + body + le32(UInt32(12 + body.count)) }
        let idb = block(1, le16(1) + le16(0) + le32(1500) + le16(9) + le16(1) + [resolution, 0, 0, 0] + le16(0) + le16(0))
        return PcapngBlocks.sectionHeader(application: "t") + idb + blocks
    }

    @Test("timestamps convert at any resolution a 64-bit count allows; a finer one is refused, not divided by zero")
    func resolutions() throws {
        func packet(_ units: UInt64) -> [UInt8] {
            PcapngBlocks.enhancedPacket(interface: 0, wallNanoseconds: units, originalLength: 1, bytes: [1], direction: nil, packetID: nil, comments: [])
        }
        // Picoseconds (10^-12): 1.5 s is 1.5e12 units.
        #expect(try PcapngFile(parsing: Self.file(resolution: 12, packet(1_500_000_000_000))).packets.first?.wallNanoseconds == 1_500_000_000)
        // 2^-30 s: 2^30 units are one second.
        #expect(try PcapngFile(parsing: Self.file(resolution: 0x80 | 30, packet(1 << 30))).packets.first?.wallNanoseconds == 1_000_000_000)
        // Seconds (10^0) beyond what nanoseconds hold saturate rather than wrap.
        #expect(try PcapngFile(parsing: Self.file(resolution: 0, packet(UInt64.max / 2))).packets.first?.wallNanoseconds == .max)
        for resolution: UInt8 in [20, 0x80 | 64, 0xFF] {
            #expect(throws: CaptureFormatError.self, "if_tsresol \(resolution)") { try PcapngFile(parsing: Self.file(resolution: resolution, packet(1))) }
        }
    }

    @Test("a statistics block on an interface the section does not describe is refused")
    func statisticsOnUnknownInterface() {
        let statistics = PcapngBlocks.interfaceStatistics(interface: 3, wallNanoseconds: 1, startNanoseconds: nil, received: 1, dropped: 0)
        #expect(throws: CaptureFormatError.self) { try PcapngFile(parsing: Self.file(resolution: 9, statistics)) }
    }

    @Test("a cut-off last block is a tail still being written; an impossible length mid-file is damage")
    func truncatedTailAgainstDamage() throws {
        let packet = PcapngBlocks.enhancedPacket(interface: 0, wallNanoseconds: 1, originalLength: 60, bytes: [UInt8](repeating: 7, count: 60),
                                                 direction: .inbound, packetID: 1, comments: [])
        let whole = Self.file(resolution: 9, packet + packet)
        let cut = Array(whole.dropLast(10))
        let read = try PcapngFile(parsing: cut, allowingTruncatedTail: true)
        #expect(read.packets.count == 1 && read.truncatedTailBytes == packet.count - 10)
        #expect(throws: CaptureFormatError.self) { try PcapngFile(parsing: cut) }
        var damaged = whole
        let second = whole.count - packet.count
        damaged[second + 4] = 0x03  // a length that is not a multiple of 4
        #expect(throws: CaptureFormatError.self) { try PcapngFile(parsing: damaged, allowingTruncatedTail: true) }
    }

    @Test("a big-endian section with microsecond timestamps reads the same")
    func bigEndian() throws {
        func be32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
        func be16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
        func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] { be32(type) + be32(UInt32(12 + body.count)) + body + be32(UInt32(12 + body.count)) }
        let shb = block(0x0A0D_0D0A, be32(0x1A2B_3C4D) + be16(1) + be16(0) + [UInt8](repeating: 0xFF, count: 8))
        let idb = block(1, be16(1) + be16(0) + be32(1500) + be16(2) + be16(2) + Array("p1".utf8) + [0, 0] + be16(0) + be16(0))
        let epb = block(6, be32(0) + be32(0) + be32(1_500_000) + be32(4) + be32(60) + [9, 8, 7, 6]
                          + be16(2) + be16(4) + be32(2) + be16(0) + be16(0))
        let read = try PcapngFile(parsing: shb + idb + epb)
        #expect(read.interfaces.first?.name == "p1")
        #expect(read.interfaces.first?.unitsPerSecond == 1_000_000)
        #expect(read.packets.first?.wallNanoseconds == 1_500_000_000)
        #expect(read.packets.first?.bytes == [9, 8, 7, 6])
        #expect(read.packets.first?.direction == .outbound)
    }
}
