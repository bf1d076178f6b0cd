import Foundation
import L2Capture
import L2Control
import L2Edge
import L2Lab
import Testing

/// The main job end to end: `l2motion demo --json`, then its captures read with tshark.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct DemoIntegrationTests {
    @Test("the demo passes and its captures read cleanly in tshark")
    func demoAndCaptures() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let report = try sandbox.demo(["--egress-records"])
        #expect(report.passed, "problems: \(report.problems)")
        #expect(report.migration.result.status.rawValue == "completed")
        #expect(report.ping.lost == 0 && report.ping.sent > 50)
        let before = try #require(report.udpCounter.before), after = try #require(report.udpCounter.after)
        #expect(after > before)
        let tcp = try #require(report.tcp, "the demo ran its TCP probe")
        #expect(tcp.problems.isEmpty, "\(tcp.problems)")
        #expect((tcp.echo?.received ?? 0) > 50 && tcp.echo?.failure == nil, "\(String(describing: tcp.echo))")
        #expect((tcp.download?.received ?? 0) > 1_000_000 && tcp.download?.mismatchAt == nil, "\(String(describing: tcp.download))")
        #expect(tcp.capture?.resets == 0 && tcp.capture?.malformed == 0, "\(String(describing: tcp.capture))")
        #expect(!LabLifecycle.exists(report.lab), "the demo took its lab down")
        for file in [report.captures.reportJSON, report.captures.reportMarkdown, report.captures.timeline] {
            #expect(FileManager.default.fileExists(atPath: file), "\(file) exists")
        }

        func tshark(_ file: String, _ filter: String, _ fields: [String] = ["frame.number"]) throws -> [String] {
            // TCP 8000 carries l2motion's own (by default encrypted) stream: decode it as data, or a
            // heuristic dissector may take ciphertext for its protocol and call it malformed.
            try CommandRunner.run(["tshark", "-r", file, "-d", "tcp.port==8000,data", "-Y", filter, "-T", "fields"] + fields.flatMap { ["-e", $0] })
                .split(separator: "\n").map(String.init)
        }
        for file in [report.captures.pswitch, report.captures.vmotion] {
            #expect(try tshark(file, "_ws.malformed || _ws.expert.severity >= error").isEmpty, "\(file) has no malformed frames")
        }
        let stun = try #require(report.migration.stunAt)
        let rarp = try tshark(report.captures.pswitch, "arp.opcode == 3 && eth.src == 00:50:56:00:00:10 && frame.packet_flags_direction == 1",
                              ["frame.time_epoch"])
        #expect(rarp.filter { (Double($0) ?? 0) * 1e9 >= Double(stun) - 1e6 }.count == 5, "RARPs from web01 after the stun: \(rarp)")
        let requests = try tshark(report.captures.pswitch, "icmp.type == 8 && frame.packet_flags_direction == 1", ["frame.time_epoch"]).compactMap(Double.init)
        let replies = try tshark(report.captures.pswitch, "icmp.type == 0 && frame.packet_flags_direction == 1", ["frame.time_epoch"]).compactMap(Double.init)
        #expect(requests.count >= report.ping.sent - 1 && replies.count >= report.ping.received)
        #expect(replies.contains { $0 * 1e9 < Double(stun) } && replies.contains { $0 * 1e9 > Double(stun) }, "echo replies before and after the migration")
        #expect(try tshark(report.captures.vmotion, "tcp.port == 8000").count > 100)
        try Self.checkPcapng(report, tshark: tshark)
    }

    /// What the pcapng captures show on their own: ports as interfaces, the RARPs inbound on esx02
    /// with the station move on the first, the first unicast after it annotated, egress copies joined
    /// by packet id, and statistics blocks that agree with the records.
    static func checkPcapng(_ report: DemoReport, tshark: (String, String, [String]) throws -> [String]) throws {
        let pswitch = report.captures.pswitch, vmotion = report.captures.vmotion
        #expect(pswitch.hasSuffix("/pswitch.pcapng") && vmotion.hasSuffix("/vmotion.pcapng"))
        for file in [pswitch, vmotion] { _ = try CommandRunner.run(["capinfos", file]) }  // throws on a capinfos error
        let interfaces = Set(try tshark(pswitch, "frame", ["frame.interface_name", "frame.interface_description"]))
        #expect(interfaces == ["client01\teth0 of client client01", "esx01\tvmnic0 of host esx01", "esx02\tvmnic0 of host esx02"])
        #expect(Set(try tshark(vmotion, "frame", ["frame.interface_name"])) == ["esx01", "esx02"])

        // The RARPs: inbound on esx02, numbered as the report numbers them; the first moved the station.
        let relearn = try #require(report.migration.relearnFrame)
        let rarps = try tshark(pswitch, "arp.opcode == 3 && frame.packet_flags_direction == 1 && frame.number >= \(relearn)",
                               ["frame.number", "frame.interface_name", "frame.packet_id", "frame.comment"])
            .map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        try #require(rarps.count == 5, "five inbound RARPs from the move on: \(rarps)")
        #expect(rarps.map { UInt64($0[0]) } == report.migration.announceFrames.map { Optional($0) })
        #expect(rarps.allSatisfy { $0[1] == "esx02" && $0[2] == $0[0] })
        #expect(rarps[0][0] == String(relearn))
        #expect(rarps[0][3] == "station move 00:50:56:00:00:10 esx01 → esx02")

        // The first frame the switch sent web01 after the move says where web01 was until when.
        let toVM = try tshark(pswitch, "eth.dst == 00:50:56:00:00:10 && frame.packet_flags_direction == 1 && frame.number > \(relearn)",
                              ["frame.number", "frame.comment"])
        #expect(toVM.first?.hasSuffix("\tunicast to esx02, was esx01 until packet \(relearn)") == true, "first unicast after the move: \(toVM.prefix(2))")

        // Egress records: each echo request to web01 enters on client01 and leaves by esx01 before the
        // move, by esx02 after it; its copies carry the inbound record's packet id.
        let echo = try tshark(pswitch, "icmp.type == 8", ["frame.number", "frame.packet_id", "frame.packet_flags_direction", "frame.interface_name"])
            .map { $0.split(separator: "\t").map(String.init) }
        let inbound = echo.filter { $0[2] == "0x00000001" }, outbound = echo.filter { $0[2] == "0x00000002" }
        #expect(inbound.allSatisfy { $0[3] == "client01" && $0[0] == $0[1] })
        let egress = Dictionary(outbound.map { ($0[1], $0[3]) }, uniquingKeysWith: { first, _ in first })
        let before = inbound.filter { UInt64($0[0])! < relearn }.compactMap { egress[$0[1]] }
        let after = inbound.filter { UInt64($0[0])! > relearn }.compactMap { egress[$0[1]] }
        #expect(before.count > 10 && Set(before) == ["esx01"], "echo requests before the move leave by esx01")
        #expect(after.count > 10 && Set(after) == ["esx02"], "echo requests after the move leave by esx02")

        // Statistics: each port received exactly the frames recorded inbound on it, none dropped unannotated.
        let file = try PcapngFile(parsing: [UInt8](try Data(contentsOf: URL(fileURLWithPath: pswitch))))
        #expect(file.statistics.count == 3)
        for statistics in file.statistics {
            let records = file.packets.filter { $0.interface == statistics.interface && $0.direction == .inbound }
            #expect(statistics.received == UInt64(records.count), "interface \(statistics.interface)")
            #expect(statistics.dropped == UInt64(records.filter { $0.comments.contains { $0.hasPrefix("dropped:") } }.count))
        }
    }

    @Test("--capture-format pcap still writes pcap files, and the README's tshark filters work on them")
    func pcapFormat() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let name = TestLab.uniqueName()
        defer { _ = try? sandbox.run(["lab", "down", "--name", name]) }
        let output = try sandbox.run(["demo", "--name", name, "--memory", "64", "--touched", "8", "--downtime", "5",
                                      "--capture-format", "pcap", "--captures", sandbox.directory + "/Captures", "--json"])
        let report = try ControlJSON.decoder.decode(DemoReport.self, from: Data(output.utf8))
        #expect(report.passed, "problems: \(report.problems)")
        #expect(report.captures.pswitch.hasSuffix("/pswitch.pcap") && report.captures.vmotion.hasSuffix("/vmotion.pcap"))
        let head = try #require(FileManager.default.contents(atPath: report.captures.pswitch)?.prefix(4))
        #expect([UInt8](head) == [0x4d, 0x3c, 0xb2, 0xa1], "a nanosecond pcap file")
        let frames = try PcapReader.readAll(path: report.captures.pswitch, filter: "rarp")
        #expect(report.migration.announceFrames == frames.suffix(5).map(\.number))
        for (file, filter) in [(report.captures.pswitch, "arp.opcode == 3"), (report.captures.pswitch, "arp || icmp"),
                               (report.captures.vmotion, "tcp.port == 8000")] {
            let lines = try CommandRunner.run(["tshark", "-r", file, "-d", "tcp.port==8000,data", "-Y", filter])
            #expect(!lines.isEmpty, "\(filter) finds frames in \(file)")
        }
    }
}

extension Sandbox {
    /// Runs `l2motion demo --json` (web01 with 128 MiB, 32 touched, a 5 ms downtime target, and
    /// `extra` arguments) under a unique lab name, captures in the sandbox, the lab taken down
    /// whatever happens; its report.
    func demo(_ extra: [String] = []) throws -> DemoReport {
        let name = TestLab.uniqueName()
        defer { _ = try? run(["lab", "down", "--name", name]) }
        let output = try run(["demo", "--name", name, "--memory", "128", "--touched", "32", "--downtime", "5",
                              "--captures", directory + "/Captures", "--json"] + extra)
        return try ControlJSON.decoder.decode(DemoReport.self, from: Data(output.utf8))
    }
}
