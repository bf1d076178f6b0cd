import Foundation
import L2Capture
import L2Control
import L2Migration
import Testing
@testable import L2Lab

/// The completed migration of ReportTests with the wall-clock moments the source now records.
func timedMigration() -> MigrationReport {
    var report = completedMigration()
    let stun = report.stunAt!
    report.result.startedAt = stun - 1_000_000_000
    report.result.precopyStartedAt = stun - 996_000_000
    report.result.rounds[0].startedAt = stun - 996_000_000
    report.result.rounds[1].startedAt = stun - 40_000_000
    report.result.rounds[2].startedAt = stun + 100_000
    report.result.endedAt = report.resumedAt! + 1_000_000
    return report
}

@Suite("migration events from the report")
struct MigrationEventsTests {
    @Test("every moment in order, RARPs and the relearn anchored on the production switch's frames")
    func fromAReport() {
        let report = timedMigration()
        let events = MigrationEvents.events(of: report, productionSwitch: "pswitch", vmotionSwitch: "vmotion")
        #expect(events.map(\.text) == [
            "pre-copy of web01 starts: esx01 → esx02",
            "round 1 of web01 starts",
            "round 2 of web01 starts",
            "round 3 of web01 starts: the last dirty pages, sent while it is stunned",
            "stun: web01 stops on esx01",
            "resume: web01 runs on esx02",
            "announce 1/3 for web01",
            "announce 2/3 for web01",
            "announce 3/3 for web01",
            "relearn: pswitch moved web01 to its new port, 0.42 ms after the resume",
            "completion: migration of web01 esx01 → esx02 completed",
        ])
        let stun = report.stunAt!, resumed = report.resumedAt!
        #expect(events.map(\.wallNanoseconds) == [stun - 996_000_000, stun - 996_000_000, stun - 40_000_000, stun + 100_000, stun, resumed,
                                                   resumed + 250_000, resumed + 50_500_000, resumed + 150_750_000, resumed + 420_000,
                                                   resumed + 1_000_000])
        #expect(events.map(\.anchor) == [nil, nil, nil, nil, nil, nil] + [1201, 1206, 1216, 1201].map { CaptureEvent.Anchor(switchName: "pswitch", frame: $0) } + [nil])
        #expect(events.map(\.preferredSwitch) == ["vmotion", "vmotion", "vmotion", "vmotion", nil, nil, nil, nil, nil, nil, "vmotion"])
    }

    @Test("completion is the commit on the wire when the source recorded it, else the state machine's end")
    func completionTime() {
        var report = timedMigration()
        let end = report.result.endedAt!
        #expect(MigrationEvents.events(of: report, productionSwitch: "p", vmotionSwitch: "v").last?.wallNanoseconds == end)
        report.committedAt = end + 225_000_000
        #expect(MigrationEvents.events(of: report, productionSwitch: "p", vmotionSwitch: "v").last?.wallNanoseconds == end + 225_000_000)
        let object = try? JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any]
        #expect(object?["committed-at-ns"] as? UInt64 == end + 225_000_000)
    }

    @Test("unsolicited NAs sent with the RARPs are named on each announce")
    func neighborAdvertisements() {
        var report = completedMigration(relearn: false)
        report.announceNAs = 6
        let texts = MigrationEvents.events(of: report, productionSwitch: "p", vmotionSwitch: "v").map(\.text)
        #expect(texts.suffix(3) == ["announce 1/3 for web01 + 2 unsolicited NAs", "announce 2/3 for web01 + 2 unsolicited NAs",
                                    "announce 3/3 for web01 + 2 unsolicited NAs"])
    }

    @Test("a report without the new moments gives only what it recorded, nothing guessed")
    func olderReport() {
        let events = MigrationEvents.events(of: completedMigration(relearn: false), productionSwitch: "p", vmotionSwitch: "v")
        #expect(events.map(\.text) == ["stun: web01 stops on esx01", "resume: web01 runs on esx02",
                                       "announce 1/3 for web01", "announce 2/3 for web01", "announce 3/3 for web01"])
    }

    @Test("a demo's events: the migration, then the one back; switches named by their capture files")
    func demoWithBack() {
        var demo = demoReport(ping: steadyPing, migration: timedMigration())
        var back = timedMigration()
        back.source = "esx02"
        back.destination = "esx01"
        back.announceFrames = [3001]
        back.announce = [0.1]
        demo.back = back
        demo.captures.pswitch = "/x/run/prod.pcapng"
        demo.captures.vmotion = "/x/run/vmo.pcapng"
        let events = MigrationEvents.events(of: demo)
        #expect(events.count == 11 + 9)
        #expect(events.last?.text == "completion: migration of web01 esx02 → esx01 completed")
        #expect(events.contains { $0.text == "announce 1/1 for web01" && $0.anchor == .init(switchName: "prod", frame: 3001) })
        #expect(events.first?.preferredSwitch == "vmo")
    }

    @Test func switchNamesFromCaptureFiles() {
        #expect(DemoReport.Captures.switchName(ofCapture: "Captures/run1/pswitch.pcapng") == "pswitch")
        #expect(DemoReport.Captures.switchName(ofCapture: "vmotion.pcap") == "vmotion")
        #expect(DemoReport.Captures.switchName(ofCapture: "/a/b/noextension") == "noextension")
    }

    @Test("the source's moments are in the report under -ns keys; a report without them still decodes")
    func json() throws {
        let data = try JSONEncoder().encode(timedMigration())
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["precopy-started-at-ns"] as? UInt64 == timedMigration().result.precopyStartedAt)
        #expect(object["started-at-ns"] != nil && object["ended-at-ns"] != nil)
        let rounds = try #require(object["rounds"] as? [[String: Any]])
        #expect(rounds.allSatisfy { $0["started-at-ns"] != nil })
        let old = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(completedMigration())) as? [String: Any])
        #expect(old["precopy-started-at-ns"] == nil && old["ended-at-ns"] == nil)
        let decoded = try JSONDecoder().decode(MigrationReport.self, from: data)
        #expect(decoded.result == timedMigration().result)
    }
}

/// `RunAnnotator` on a run folder made of a report and two small captures (no root, no lab).
@Suite("annotate a run folder", .serialized)
struct RunAnnotatorTests {
    /// A temporary run folder, removed by `remove()`.
    struct RunFolder {
        let path = NSTemporaryDirectory() + "l2motion-annotate-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        func remove() { try? FileManager.default.removeItem(atPath: path) }
    }

    /// A RARP-sized frame from web01.
    static let rarp: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x50, 0x56, 0x00, 0x00, 0x10, 0x80, 0x35] + [UInt8](repeating: 0, count: 46)

    /// pswitch.pcapng with `count` frames 1 ms apart around the resume, vmotion.pcapng with frames
    /// every 10 ms over the whole migration, and report.json naming them.
    static func makeRun(in folder: RunFolder, statistics: Bool = true) throws -> DemoReport {
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        let migration = timedMigration()
        let resumed = migration.resumedAt!, start = migration.result.startedAt!
        func capture(_ ports: [String], _ frames: [(port: Int, at: UInt64)]) -> [UInt8] {
            var bytes = PcapngBlocks.sectionHeader(application: "l2motion test")
            for port in ports { bytes += PcapngBlocks.interfaceDescription(CaptureInterface(name: port), snaplen: 128, filter: nil) }
            for (number, frame) in frames.enumerated() {
                bytes += PcapngBlocks.enhancedPacket(interface: frame.port, wallNanoseconds: frame.at, originalLength: 60, bytes: rarp,
                                                     direction: .inbound, packetID: UInt64(number + 1), comments: [])
            }
            if statistics {
                for port in ports.indices {
                    bytes += PcapngBlocks.interfaceStatistics(interface: port, wallNanoseconds: resumed + 2_000_000_000, startNanoseconds: nil,
                                                              received: 1, dropped: 0)
                }
            }
            return bytes
        }
        // pswitch frames 1...1300, 1 ms apart, starting 1 s before the resume: 1201 is at +0.x ms.
        let production = capture(["client01", "esx01", "esx02"], (1...1300).map { (2, resumed - 1_000_000_000 + UInt64($0 - 1) * 1_000_000 + 500_000) })
        let vmotion = capture(["esx01", "esx02"], (0..<200).map { ($0 % 2, start + UInt64($0) * 10_000_000) })
        try Data(production).write(to: URL(fileURLWithPath: "\(folder.path)/pswitch.pcapng"))
        try Data(vmotion).write(to: URL(fileURLWithPath: "\(folder.path)/vmotion.pcapng"))
        var report = demoReport(ping: steadyPing, migration: migration)
        report.captures.directory = folder.path
        report.captures.pswitch = "\(folder.path)/pswitch.pcapng"
        report.captures.vmotion = "\(folder.path)/vmotion.pcapng"
        try ControlJSON.prettyEncoder.encode(report).write(to: URL(fileURLWithPath: "\(folder.path)/report.json"))
        return report
    }

    @Test("writes migration.pcapng with every event, the RARPs on their own frames")
    func annotates() throws {
        let folder = RunFolder()
        defer { folder.remove() }
        _ = try Self.makeRun(in: folder)
        let annotation = try RunAnnotator.annotate(runDirectory: folder.path, application: "l2motion test")
        #expect(annotation.path == "\(folder.path)/migration.pcapng")
        #expect(annotation.frames == 1500)
        #expect(annotation.statistics == 5)
        #expect(annotation.notes.isEmpty)
        #expect(annotation.placements.allSatisfy { $0.frame != nil && $0.method != .anchorMissing })
        let file = try PcapngFile(parsing: [UInt8](try #require(FileManager.default.contents(atPath: annotation.path))))
        #expect(file.interfaces.map(\.name) == ["pswitch/client01", "pswitch/esx01", "pswitch/esx02", "vmotion/esx01", "vmotion/esx02"])
        let commented = file.packets.filter { !$0.comments.isEmpty }
        let comments = commented.flatMap(\.comments)
        for event in MigrationEvents.events(of: timedMigration(), productionSwitch: "pswitch", vmotionSwitch: "vmotion") {
            #expect(comments.contains(event.text), "\(event.text)")
        }
        // The story's order holds in the file: each of these on a frame no earlier than the one before.
        let frame = Dictionary(annotation.placements.map { ($0.event.text, $0.frame ?? 0) }, uniquingKeysWith: { first, _ in first })
        let chain = ["pre-copy of web01 starts: esx01 → esx02", "round 1 of web01 starts", "round 2 of web01 starts", "stun: web01 stops on esx01",
                     "resume: web01 runs on esx02", "announce 1/3 for web01", "announce 2/3 for web01", "announce 3/3 for web01"].map { frame[$0] ?? 0 }
        #expect(chain == chain.sorted() && !chain.contains(0))
        #expect(annotation.placements.map(\.event.wallNanoseconds) == annotation.placements.map(\.event.wallNanoseconds).sorted())
        let announce2 = try #require(file.packets.first { $0.comments.contains("announce 2/3 for web01") })
        #expect(file.interfaces[announce2.interface].name == "pswitch/esx02" && announce2.packetID == 1206)
        let precopy = try #require(file.packets.first { $0.comments.contains("pre-copy of web01 starts: esx01 → esx02") })
        #expect(file.interfaces[precopy.interface].name?.hasPrefix("vmotion/") == true)
    }

    @Test("captures still open (no statistics, a half-written last block) are merged and the note says what to do")
    func openCaptures() throws {
        let folder = RunFolder()
        defer { folder.remove() }
        _ = try Self.makeRun(in: folder, statistics: false)
        let path = "\(folder.path)/vmotion.pcapng"
        let bytes = try #require(FileManager.default.contents(atPath: path))
        try bytes.dropLast(10).write(to: URL(fileURLWithPath: path))
        let annotation = try RunAnnotator.annotate(runDirectory: folder.path)
        #expect(annotation.frames == 1499)
        #expect(annotation.notes.count == 2)
        #expect(annotation.notes.contains { $0.contains("l2motion lab down --name l2m") && $0.contains("l2motion annotate \(folder.path)") })
        #expect(annotation.notes.contains { $0.contains("incomplete block") })
    }

    @Test("a run folder that moved: the captures are found by their file names")
    func movedFolder() throws {
        let folder = RunFolder()
        defer { folder.remove() }
        var report = try Self.makeRun(in: folder)
        report.captures.pswitch = "/nonexistent/run/pswitch.pcapng"
        report.captures.vmotion = "Captures/elsewhere/vmotion.pcapng"
        try ControlJSON.prettyEncoder.encode(report).write(to: URL(fileURLWithPath: "\(folder.path)/report.json"))
        #expect(try RunAnnotator.annotate(runDirectory: folder.path).frames == 1500)
    }

    /// What annotating `directory` fails with.
    static func message(_ directory: String) -> String {
        do {
            _ = try RunAnnotator.annotate(runDirectory: directory)
            return "no error"
        } catch {
            return error.message
        }
    }

    @Test("errors say what is wrong and what to do")
    func errors() throws {
        let folder = RunFolder()
        defer { folder.remove() }
        #expect(Self.message(folder.path).hasPrefix("no run folder \(folder.path); give the folder of a demo run"))
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        #expect(Self.message(folder.path) == "\(folder.path) has no report.json; annotate reads the report `l2motion demo` writes into its run folder")
        try Data("{\"lab\": 1}".utf8).write(to: URL(fileURLWithPath: "\(folder.path)/report.json"))
        #expect(Self.message(folder.path).contains("report.json is not a demo report"))
        #expect(Self.message("\(folder.path)/report.json").contains("is a file"))

        let report = try Self.makeRun(in: folder)
        try FileManager.default.removeItem(atPath: report.captures.vmotion)
        #expect(Self.message(folder.path).contains("capture \(report.captures.vmotion) named by the run's report.json is missing"))
        try Data([0xD4, 0xC3, 0xB2, 0xA1] + [UInt8](repeating: 0, count: 20)).write(to: URL(fileURLWithPath: report.captures.vmotion))
        #expect(Self.message(folder.path).hasPrefix("annotate needs pcapng captures; this run used --capture-format pcap"))
        var damaged = try #require(FileManager.default.contents(atPath: report.captures.pswitch))
        damaged[188...191] = Data([0xFF, 0xFF, 0x00, 0x00])  // the first packet block's length, now not a multiple of 4
        try damaged.write(to: URL(fileURLWithPath: report.captures.pswitch))
        #expect(Self.message(folder.path).contains("is damaged"))
        #expect(!FileManager.default.fileExists(atPath: "\(folder.path)/migration.pcapng"))
    }
}
