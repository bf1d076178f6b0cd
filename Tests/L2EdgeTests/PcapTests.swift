import Foundation
import L2Edge
import Testing

enum Tools {
    static let tsharkPath = "/usr/bin/tshark"
    static var hasTshark: Bool { FileManager.default.isExecutableFile(atPath: tsharkPath) }
    /// Under CI=true a missing tool is a failure, never a silent skip.
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
}

@Suite("PcapWriter and PcapReader round trip through libpcap")
struct PcapTests {
    @Test func framesAndNanosecondTimestampsRoundTrip() throws {
        try withTemporaryDirectory { directory throws in
            let path = "\(directory)/round.pcap"
            let frames = [Frames.arpRequest, Frames.icmpEcho(), Frames.icmpEcho(payload: 1472)]
            let stamps: [UInt64] = [1_795_889_107_451_780_123, 1_795_889_107_451_780_124, 1_795_889_108_999_999_999]
            let writer = try PcapWriter(path: "\(directory)/round.pcap")
            for (frame, stamp) in zip(frames, stamps) {
                #expect(writer.write(frame, wallNanoseconds: stamp))
            }
            #expect(writer.framesWritten == 3)
            writer.close()

            let read = try PcapReader.readAll(path: path)
            #expect(read.map(\.number) == [1, 2, 3])
            #expect(read.map(\.wallNanoseconds) == stamps)
            #expect(read.map(\.bytes) == frames)
            #expect(read.map(\.originalLength) == frames.map(\.count))
        }
    }

    @Test func flushMakesFramesVisibleBeforeClose() throws {
        try withTemporaryDirectory { directory throws in
            let writer = try PcapWriter(path: "\(directory)/live.pcap")
            writer.write(Frames.arpRequest, wallNanoseconds: 1_000_000_001)
            writer.flush()
            #expect(try PcapReader.readAll(path: "\(directory)/live.pcap").map(\.bytes) == [Frames.arpRequest])
            writer.close()
        }
    }

    @Test func snaplenTruncatesButKeepsTheOriginalLength() throws {
        try withTemporaryDirectory { directory throws in
            let path = "\(directory)/short.pcap"
            let writer = try PcapWriter(path: path, snaplen: 64)
            let long = Frames.icmpEcho(payload: 1472)
            writer.write(long, wallNanoseconds: 5)
            writer.write(Frames.arpRequest, wallNanoseconds: 6)
            writer.close()
            let read = try PcapReader.readAll(path: path)
            #expect(read.count == 2)
            #expect(read.first?.bytes == Array(long.prefix(64)))
            #expect(read.first?.originalLength == 1514)
            #expect(read.last?.bytes == Frames.arpRequest)
            #expect(read.last?.originalLength == 60)
        }
    }

    @Test func captureFilterWritesOnlyMatchingFrames() throws {
        try withTemporaryDirectory { directory throws in
            let path = "\(directory)/arp.pcap"
            let writer = try PcapWriter(path: path, filter: "arp")
            #expect(writer.write(Frames.arpRequest, wallNanoseconds: 10))
            #expect(!writer.write(Frames.icmpEcho(), wallNanoseconds: 11))
            #expect(writer.write(Frames.arpRequest, wallNanoseconds: 12))
            #expect(!writer.write(Frames.icmpEcho(), wallNanoseconds: 13))
            #expect(writer.framesWritten == 2)
            writer.close()
            let read = try PcapReader.readAll(path: path)
            #expect(read.map(\.number) == [1, 2])
            #expect(read.map(\.wallNanoseconds) == [10, 12])
            #expect(read.allSatisfy { $0.bytes == Frames.arpRequest })
        }
    }

    @Test func readerFilterKeepsTheFileNumbering() throws {
        try withTemporaryDirectory { directory throws in
            let path = "\(directory)/mixed.pcap"
            let writer = try PcapWriter(path: path)
            writer.write(Frames.icmpEcho(), wallNanoseconds: 1)
            writer.write(Frames.arpRequest, wallNanoseconds: 2)
            writer.write(Frames.icmpEcho(), wallNanoseconds: 3)
            writer.close()
            let icmp = try PcapReader.readAll(path: path, filter: "icmp")
            #expect(icmp.map(\.number) == [1, 3])
            let arp = try PcapReader.readAll(path: path, filter: "arp")
            #expect(arp.map(\.number) == [2])
        }
    }

    @Test func writesAfterCloseAreIgnored() throws {
        try withTemporaryDirectory { directory throws in
            let writer = try PcapWriter(path: "\(directory)/closed.pcap")
            writer.close()
            #expect(!writer.write(Frames.arpRequest, wallNanoseconds: 1))
            #expect(writer.framesWritten == 0)
            writer.close()
            #expect(try PcapReader.readAll(path: "\(directory)/closed.pcap").isEmpty)
        }
    }

    @Test func invalidFilterNamesTheFilter() throws {
        try withTemporaryDirectory { directory throws in
            let error = #expect(throws: CaptureError.self) {
                try PcapWriter(path: "\(directory)/bad.pcap", filter: "arp and and")
            }
            #expect(error?.message.hasPrefix("capture filter \"arp and and\" is invalid: ") == true)
            #expect(!FileManager.default.fileExists(atPath: "\(directory)/bad.pcap"))

            let writer = try PcapWriter(path: "\(directory)/ok.pcap")
            writer.close()
            let readError = #expect(throws: CaptureError.self) {
                try PcapReader.readAll(path: "\(directory)/ok.pcap", filter: "tcp port banana")
            }
            #expect(readError?.message.hasPrefix("filter \"tcp port banana\" is invalid: ") == true)
        }
    }

    @Test(arguments: [0, 63, 262_145, -1])
    func invalidSnaplenIsRefused(snaplen: Int) throws {
        try withTemporaryDirectory { directory throws in
            let error = #expect(throws: CaptureError.self) {
                try PcapWriter(path: "\(directory)/x.pcap", snaplen: snaplen)
            }
            #expect(error?.message == "snaplen \(snaplen) out of range; use 64...262144 (65535 keeps whole frames)")
        }
    }

    @Test func unwritablePathIsReported() throws {
        try withTemporaryDirectory { directory throws in
            let error = #expect(throws: CaptureError.self) {
                try PcapWriter(path: "\(directory)/no/such/dir/x.pcap")
            }
            #expect(error?.message == "cannot create capture file \(directory)/no/such/dir/x.pcap: No such file or directory")
        }
    }

    @Test func readingAMissingFileErrorsClearly() throws {
        try withTemporaryDirectory { directory throws in
            let path = "\(directory)/missing.pcap"
            let error = #expect(throws: CaptureError.self) { try PcapReader.readAll(path: path) }
            #expect(error?.message.hasPrefix("cannot read capture \(path): ") == true)
            #expect(error?.message.contains("No such file or directory") == true)
        }
    }

    @Test func readingANonCaptureFileErrors() throws {
        try withTemporaryDirectory { directory throws in
            let path = "\(directory)/text.pcap"
            try "this is not a capture file at all\n".write(toFile: path, atomically: true, encoding: .utf8)
            let error = #expect(throws: CaptureError.self) { try PcapReader.readAll(path: path) }
            #expect(error?.message.hasPrefix("cannot read capture \(path): ") == true)
        }
    }

    @Test(.enabled(if: Tools.hasTshark || Tools.isCI, "tshark is not installed (CI=true makes this a failure)"))
    func tsharkReadsTheFileWeWrote() throws {
        try withTemporaryDirectory { directory throws in
            let path = "\(directory)/tshark.pcap"
            let writer = try PcapWriter(path: path, snaplen: 128)
            let frames = [Frames.arpRequest, Frames.icmpEcho(), Frames.icmpEcho(payload: 1472)]
            for (index, frame) in frames.enumerated() { writer.write(frame, wallNanoseconds: 1_795_889_107_000_000_000 + UInt64(index)) }
            writer.close()
            let output = try CommandRunner.run(["tshark", "-r", path, "-T", "fields", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.time_epoch"])
            let rows = output.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
            #expect(rows.map { $0.first } == ["60", "98", "1514"])
            #expect(rows.map { $0.dropFirst().first } == ["60", "98", "128"])
            #expect(rows.last?.last?.hasSuffix(".000000002") == true, "tshark read \(rows.last?.last ?? "-") as the last frame's time")
        }
    }
}
