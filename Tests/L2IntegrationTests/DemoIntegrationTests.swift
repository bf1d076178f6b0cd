import Foundation
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
        let report = try sandbox.demo()
        #expect(report.passed, "problems: \(report.problems)")
        #expect(report.migration.result.status.rawValue == "completed")
        #expect(report.ping.lost == 0 && report.ping.sent > 50)
        let before = try #require(report.udpCounter.before), after = try #require(report.udpCounter.after)
        #expect(after > before)
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
        let rarp = try tshark(report.captures.pswitch, "arp.opcode == 3 && eth.src == 00:50:56:00:00:10", ["frame.time_epoch"])
        #expect(rarp.filter { (Double($0) ?? 0) * 1e9 >= Double(stun) - 1e6 }.count == 5, "RARPs from web01 after the stun: \(rarp)")
        let requests = try tshark(report.captures.pswitch, "icmp.type == 8", ["frame.time_epoch"]).compactMap(Double.init)
        let replies = try tshark(report.captures.pswitch, "icmp.type == 0", ["frame.time_epoch"]).compactMap(Double.init)
        #expect(requests.count >= report.ping.sent - 1 && replies.count >= report.ping.received)
        #expect(replies.contains { $0 * 1e9 < Double(stun) } && replies.contains { $0 * 1e9 > Double(stun) }, "echo replies before and after the migration")
        #expect(try tshark(report.captures.vmotion, "tcp.port == 8000").count > 100)
    }
}

extension Sandbox {
    /// Runs `l2motion demo --json` (web01 with 128 MiB, 32 touched, a 5 ms downtime target) under a
    /// unique lab name, captures in the sandbox, the lab taken down whatever happens; its report.
    func demo() throws -> DemoReport {
        let name = TestLab.uniqueName()
        defer { _ = try? run(["lab", "down", "--name", name]) }
        let output = try run(["demo", "--name", name, "--memory", "128", "--touched", "32", "--downtime", "5",
                              "--captures", directory + "/Captures", "--json"])
        return try ControlJSON.decoder.decode(DemoReport.self, from: Data(output.utf8))
    }
}
