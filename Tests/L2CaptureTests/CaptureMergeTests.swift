import L2Capture
import Testing

/// Merging switches' captures into one story: time order, "switch/port" interfaces, events as
/// comments on the frame they name or the first frame at or after their time, ids and statistics.
@Suite("capture merge")
struct CaptureMergeTests {
    static let t0: UInt64 = 1_795_889_107_000_000_000

    /// A capture of `ports` with `packets` as (port, time offset in ns, direction, comments).
    static func capture(_ ports: [String], _ packets: [(port: Int, at: UInt64, direction: CaptureDirection, comments: [String])],
                        statistics: [(port: Int, at: UInt64, received: UInt64)] = []) throws -> PcapngFile {
        var bytes = PcapngBlocks.sectionHeader(application: "l2motion test")
        for port in ports {
            bytes += PcapngBlocks.interfaceDescription(CaptureInterface(name: port, description: "vmnic0 of host \(port)"),
                                                       snaplen: 256, filter: port == "esx01" ? "not tcp" : nil)
        }
        for (number, packet) in packets.enumerated() {
            bytes += PcapngBlocks.enhancedPacket(interface: packet.port, wallNanoseconds: t0 + packet.at, originalLength: 60,
                                                 bytes: [UInt8(number)] + [UInt8](repeating: UInt8(packet.port), count: 59),
                                                 direction: packet.direction, packetID: UInt64(number + 1), comments: packet.comments)
        }
        for block in statistics {
            bytes += PcapngBlocks.interfaceStatistics(interface: block.port, wallNanoseconds: t0 + block.at, startNanoseconds: nil,
                                                      received: block.received, dropped: 0)
        }
        return try PcapngFile(parsing: bytes)
    }

    /// pswitch: client01, esx01, esx02; frames at 10, 30, 35 (an outbound copy of frame 2), 50, 70 ns.
    static func pswitch() throws -> PcapngFile {
        try capture(["client01", "esx01", "esx02"], [(0, 10, .inbound, []), (2, 30, .inbound, ["station move 00:50:56:00:00:10 esx01 → esx02"]),
                                                     (0, 35, .outbound, []), (1, 50, .inbound, []), (0, 70, .inbound, [])],
                    statistics: [(0, 900, 3), (2, 900, 1)])
    }

    /// vmotion: esx01, esx02; frames at 20, 30, 40, 60 ns.
    static func vmotion() throws -> PcapngFile {
        try capture(["esx01", "esx02"], [(0, 20, .inbound, []), (1, 30, .inbound, []), (0, 40, .inbound, []), (1, 60, .inbound, [])],
                    statistics: [(1, 800, 2)])
    }

    static func merged(_ events: [CaptureEvent] = []) throws -> (CaptureMerge.Output, PcapngFile) {
        let output = CaptureMerge.merge([.init(switchName: "pswitch", file: try pswitch()), .init(switchName: "vmotion", file: try vmotion())],
                                        events: events, application: "l2motion 9.9", comment: "both switches")
        return (output, try PcapngFile(parsing: output.bytes))
    }

    /// The merged file's block types, walking lengths from the start.
    static func blockTypes(_ bytes: [UInt8]) -> [UInt32] {
        func u32(_ at: Int) -> UInt32 { bytes[at..<at + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        var types: [UInt32] = [], at = 0
        while at + 8 <= bytes.count {
            types.append(u32(at))
            at += Int(u32(at + 4))
        }
        return types
    }

    @Test("one section; interfaces renamed switch/port with descriptions, snaplen and filter kept")
    func interfaces() throws {
        let (output, file) = try Self.merged()
        #expect(file.application == "l2motion 9.9")
        #expect(file.interfaces.map(\.name) == ["pswitch/client01", "pswitch/esx01", "pswitch/esx02", "vmotion/esx01", "vmotion/esx02"])
        #expect(output.interfaceNames == file.interfaces.compactMap(\.name))
        #expect(file.interfaces.map(\.description) == ["client01", "esx01", "esx02", "esx01", "esx02"].map { "vmnic0 of host \($0)" })
        #expect(file.interfaces.map(\.filter) == [nil, "not tcp", nil, "not tcp", nil])
        #expect(file.interfaces.allSatisfy { $0.snaplen == 256 && $0.unitsPerSecond == 1_000_000_000 && $0.linkType == 1 })
        let types = Self.blockTypes(output.bytes)
        #expect(types.filter { $0 == PcapngBlocks.sectionHeaderType }.count == 1)
        #expect(types == [PcapngBlocks.sectionHeaderType] + [UInt32](repeating: 1, count: 5) + [UInt32](repeating: 6, count: 9)
                + [UInt32](repeating: 5, count: 3))
    }

    @Test("packets in time order, equal times in input order; bytes, direction, packet ids and comments kept")
    func ordering() throws {
        let (output, file) = try Self.merged()
        #expect(output.frames == 9)
        #expect(file.packets.map(\.wallNanoseconds) == [10, 20, 30, 30, 35, 40, 50, 60, 70].map { Self.t0 + $0 })
        // At 30 ns: pswitch's frame 2, then vmotion's frame 2.
        #expect(file.packets.map { file.interfaces[$0.interface].name! } == [
            "pswitch/client01", "vmotion/esx01", "pswitch/esx02", "vmotion/esx02", "pswitch/client01",
            "vmotion/esx01", "pswitch/esx01", "vmotion/esx02", "pswitch/client01"])
        #expect(file.packets.map(\.number) == Array(1...9))
        // Ids are each switch's own frame numbers, not renumbered: they repeat across switches.
        #expect(file.packets.map(\.packetID) == [1, 1, 2, 2, 3, 3, 4, 4, 5])
        #expect(file.packets.map(\.direction) == [.inbound, .inbound, .inbound, .inbound, .outbound, .inbound, .inbound, .inbound, .inbound])
        #expect(file.packets[2].comments == ["station move 00:50:56:00:00:10 esx01 → esx02"])
        #expect(file.packets[2].bytes.first == 1 && file.packets[2].bytes.last == 2 && file.packets[2].originalLength == 60)
    }

    @Test("an anchored event goes on its frame, after the frame's own comments")
    func anchored() throws {
        let events = [CaptureEvent(wallNanoseconds: Self.t0, text: "announce 1/5 for web01", anchor: .init(switchName: "pswitch", frame: 2)),
                      CaptureEvent(wallNanoseconds: Self.t0 + 5, text: "relearn", anchor: .init(switchName: "pswitch", frame: 2)),
                      CaptureEvent(wallNanoseconds: Self.t0, text: "vmotion 4", anchor: .init(switchName: "vmotion", frame: 4))]
        let (output, file) = try Self.merged(events)
        #expect(output.placements.map(\.frame) == [3, 3, 8])
        #expect(output.placements.allSatisfy { $0.method == .anchored })
        #expect(file.packets[2].comments == ["station move 00:50:56:00:00:10 esx01 → esx02", "announce 1/5 for web01", "relearn"])
        #expect(file.packets[7].comments == ["vmotion 4"])
    }

    @Test("an event placed by time goes on the first frame at or after it, the last frame if none is later; never an outbound copy")
    func byTime() throws {
        let events = [CaptureEvent(wallNanoseconds: Self.t0 + 25, text: "between"),
                      CaptureEvent(wallNanoseconds: Self.t0 + 40, text: "exactly"),
                      CaptureEvent(wallNanoseconds: Self.t0 + 31, text: "after the copy"),
                      CaptureEvent(wallNanoseconds: Self.t0 + 5_000, text: "after everything"),
                      CaptureEvent(wallNanoseconds: Self.t0, text: "before everything")]
        let (output, file) = try Self.merged(events)
        #expect(output.placements.map(\.frame) == [3, 6, 6, 9, 1])
        #expect(output.placements.allSatisfy { $0.method == .byTime })
        // Two events on one frame: in time order, whatever order they were given in.
        #expect(file.packets[5].comments == ["after the copy", "exactly"])
        #expect(file.packets[4].comments.isEmpty, "the outbound copy gets nothing")
    }

    @Test("a preferred switch narrows the candidates; an unknown one does not")
    func preferred() throws {
        let events = [CaptureEvent(wallNanoseconds: Self.t0 + 41, text: "round 2", preferredSwitch: "vmotion"),
                      CaptureEvent(wallNanoseconds: Self.t0 + 41, text: "stun", preferredSwitch: "nosuch")]
        let (output, _) = try Self.merged(events)
        #expect(output.placements.map(\.frame) == [8, 7])
    }

    @Test("an anchor the captures do not have is placed by time and says so")
    func anchorMissing() throws {
        let events = [CaptureEvent(wallNanoseconds: Self.t0 + 45, text: "a", anchor: .init(switchName: "pswitch", frame: 99)),
                      CaptureEvent(wallNanoseconds: Self.t0 + 45, text: "b", anchor: .init(switchName: "nosuch", frame: 1)),
                      CaptureEvent(wallNanoseconds: Self.t0 + 45, text: "c", anchor: .init(switchName: "pswitch", frame: 0))]
        let (output, _) = try Self.merged(events)
        #expect(output.placements.map(\.frame) == [7, 7, 7])
        #expect(output.placements.allSatisfy { $0.method == .anchorMissing })
    }

    @Test("statistics blocks follow the packets, in time order, on the renumbered interfaces")
    func statistics() throws {
        let (output, file) = try Self.merged()
        #expect(output.statistics == 3)
        #expect(file.statistics.map(\.interface) == [4, 0, 2])
        #expect(file.statistics.map(\.received) == [2, 3, 1])
        #expect(file.statistics.map(\.dropped) == [0, 0, 0])
        #expect(file.statistics.map(\.wallNanoseconds) == [800, 900, 900].map { Self.t0 + $0 })
    }

    @Test("captures without frames: events are unplaced, the file still reads")
    func empty() throws {
        let empty = try Self.capture(["a"], [])
        let output = CaptureMerge.merge([.init(switchName: "s", file: empty)], events: [CaptureEvent(wallNanoseconds: 1, text: "x")],
                                        application: "l2motion")
        #expect(output.placements.map(\.method) == [.unplaced])
        #expect(output.frames == 0)
        #expect(try PcapngFile(parsing: output.bytes).interfaces.map(\.name) == ["s/a"])
    }

    @Test("a file cut in its last block reads up to it when allowed, and is refused otherwise")
    func truncatedTail() throws {
        let whole = CaptureMerge.merge([.init(switchName: "vmotion", file: try Self.vmotion())], events: [], application: "l2motion").bytes
        for cut in [1, 4, 11, 30] {
            let bytes = Array(whole.dropLast(cut))
            #expect(throws: CaptureFormatError.self) { try PcapngFile(parsing: bytes) }
            let read = try PcapngFile(parsing: bytes, allowingTruncatedTail: true)
            #expect(read.packets.count == 4 && read.statistics.isEmpty)
            #expect(read.truncatedTailBytes > 0)
        }
        #expect(try PcapngFile(parsing: whole, allowingTruncatedTail: true).truncatedTailBytes == 0)
    }
}
