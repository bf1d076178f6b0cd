import Foundation
import L2Capture
import L2Control
import L2Edge
import L2Lab
import Testing

/// The story in one file: the demo's `migration.pcapng` read with tshark and capinfos, and
/// `l2motion annotate` on a folder that is not there.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct AnnotateIntegrationTests {
    /// One commented frame as tshark shows it.
    struct Commented {
        var number: Int
        var time: Double
        var interface: String
        var arpOpcode: String
        var comments: [String]
    }

    @Test("the demo's migration.pcapng carries every migration event in time order, and tshark and capinfos read it cleanly")
    func demoWritesTheStory() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let report = try sandbox.demo()
        #expect(report.passed, "problems: \(report.problems)")
        let file = try #require(report.captures.migration, "the report names migration.pcapng")
        #expect(file == "\(report.captures.directory)/migration.pcapng")
        #expect(try ControlJSON.decoder.decode(DemoReport.self, from: Data(contentsOf: URL(fileURLWithPath: report.captures.reportJSON)))
            .captures.migration == file)

        // Every frame of both switches, once, and one section with their ports as "switch/port".
        let merged = try PcapngFile(parsing: [UInt8](Data(contentsOf: URL(fileURLWithPath: file))))
        let production = try PcapngFile(parsing: [UInt8](Data(contentsOf: URL(fileURLWithPath: report.captures.pswitch))))
        let vmotion = try PcapngFile(parsing: [UInt8](Data(contentsOf: URL(fileURLWithPath: report.captures.vmotion))))
        #expect(merged.packets.count == production.packets.count + vmotion.packets.count)
        #expect(merged.statistics.count == production.statistics.count + vmotion.statistics.count && !merged.statistics.isEmpty)
        #expect(merged.application == Product.nameAndVersion)

        func tshark(_ arguments: [String]) throws -> [String] {
            // TCP 8000 carries l2motion's own (by default encrypted) stream: decode it as data.
            try CommandRunner.run(["tshark", "-r", file, "-d", "tcp.port==8000,data"] + arguments).split(separator: "\n").map(String.init)
        }
        let interfaces = Set(try tshark(["-T", "fields", "-e", "frame.interface_name"]))
        #expect(interfaces.isSuperset(of: ["pswitch/client01", "pswitch/esx01", "pswitch/esx02", "vmotion/esx01", "vmotion/esx02"]))
        #expect(interfaces.allSatisfy { $0.hasPrefix("pswitch/") || $0.hasPrefix("vmotion/") }, "\(interfaces)")
        let times = try tshark(["-T", "fields", "-e", "frame.time_epoch"]).compactMap(Double.init)
        #expect(times.count == merged.packets.count && times == times.sorted(), "frames in time order")

        // The comments, with '|' between a frame's comments (some comments hold commas).
        let rows = try tshark(["-Y", "frame.comment", "-T", "fields", "-E", "aggregator=|", "-e", "frame.number", "-e", "frame.time_epoch",
                               "-e", "frame.interface_name", "-e", "arp.opcode", "-e", "frame.comment"])
        let commented: [Commented] = rows.compactMap { row in
            let fields = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 5 else { return nil }
            let comments = fields[4].split(separator: "|").map(String.init)
            return Commented(number: Int(fields[0]) ?? 0, time: Double(fields[1]) ?? 0, interface: fields[2], arpOpcode: fields[3], comments: comments)
        }
        func frame(_ text: String) -> Commented? { commented.first { $0.comments.contains(text) } }
        let events = MigrationEvents.events(of: report)
        for event in events {
            #expect(frame(event.text) != nil, "comment \"\(event.text)\" is in migration.pcapng")
        }
        // The story's order: pre-copy, the rounds, stun, resume, then the announces one by one; the
        // relearn and the completion come after the resume.
        let migration = report.migration
        // Each announce carried one unsolicited NA per IPv6 address (`--announce-ipv6 na`, the default).
        let rarps = migration.announceFrames.indices.map { "announce \($0 + 1)/\(migration.announceFrames.count) for web01 + 2 unsolicited NAs" }
        #expect(rarps.count == 5, "five RARPs: \(migration.announceFrames)")
        let rounds = events.map(\.text).filter { $0.hasPrefix("round ") && !$0.contains("stunned") }
        let sequence = ["pre-copy of web01 starts: esx01 → esx02"] + rounds + ["stun: web01 stops on esx01", "resume: web01 runs on esx02"] + rarps
        let sequenceTimes = sequence.map { frame($0)?.time ?? 0 }
        #expect(sequenceTimes == sequenceTimes.sorted() && !sequenceTimes.contains(0), "in time order: \(zip(sequence, sequenceTimes).map { "\($0.0) @ \($0.1)" })")
        let resumed = frame("resume: web01 runs on esx02")?.time ?? .infinity
        for text in events.map(\.text) where text.hasPrefix("relearn: ") || text.hasPrefix("completion: ") {
            #expect((frame(text)?.time ?? 0) >= resumed, "\(text) after the resume")
        }
        // Each RARP comment sits on a RARP frame that entered the production switch from esx02.
        for text in rarps {
            let rarp = try #require(frame(text))
            #expect(rarp.arpOpcode == "3" && rarp.interface == "pswitch/esx02", "\(text): frame \(rarp.number) on \(rarp.interface), opcode \(rarp.arpOpcode)")
        }

        // No errors: capinfos exits 0, tshark finds no malformed frame and no expert error.
        #expect(try CommandRunner.run(["capinfos", file]).contains("Number of interfaces in file: 5"))
        #expect(try tshark(["-Y", "_ws.malformed || _ws.expert.severity >= error"]).isEmpty, "no malformed frames")
        let expert = try tshark(["-q", "-z", "expert"]).joined(separator: "\n")
        #expect(!expert.contains("Errors (") && !expert.contains("Malformed"), "expert info: \(expert)")
    }

    @Test("annotate on a missing run folder fails and says what to give it")
    func missingRunFolder() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        do {
            _ = try sandbox.run(["annotate", "\(sandbox.directory)/no-such-run"])
            Issue.record("annotate succeeded on a folder that does not exist")
        } catch let error as CommandError {
            #expect(error.status != 0)
            #expect(error.standardError.contains("no run folder \(sandbox.directory)/no-such-run; give the folder of a demo run"), "\(error.standardError)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(sandbox.directory)/no-such-run"))
    }
}
