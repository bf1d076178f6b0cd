import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import L2Migration
import Testing
@testable import L2Lab

/// A completed migration of web01 from esx01 to esx02, as the coordinator would report it.
func completedMigration(verified: Bool = true, runsOn: String? = "esx02", relearn: Bool = true) -> MigrationReport {
    var ram = RAMStats()
    ram.transferred = 280_000_000
    ram.remaining = 0
    ram.total = 1_073_741_824
    ram.duplicate = 196_608
    ram.normal = 66_000
    ram.normalBytes = 270_336_000
    ram.dirtySyncCount = 3
    ram.mbps = 2240.5
    let rounds = [
        RoundStats(round: 1, pages: 262_144, zeroPages: 196_608, bytes: 270_000_000, durationMs: 950.5, mbps: 2272.4, dirtiedDuring: 3_000),
        RoundStats(round: 2, pages: 3_000, zeroPages: 0, bytes: 9_000_000, durationMs: 32.3, mbps: 2232.6, dirtiedDuring: 120),
        RoundStats(round: 3, pages: 120, zeroPages: 0, bytes: 500_000, durationMs: 1.5, mbps: 2666.0, dirtiedDuring: 0),
    ]
    let result = MigrationResult(status: .completed, totalTime: 1012.5, setupTime: 12.25, downtime: 3.5, expectedDowntime: 2.75,
                                 stunToResumedAck: 3.75, ram: ram, cpuThrottlePercentage: 0, rounds: rounds, verified: verified)
    var report = MigrationReport(result: result, id: "m-1", vm: "web01", source: "esx01", destination: "esx02",
                                 preflight: ["port group \"Production\" present on esx02", "datastore ds01 mounted on esx02"],
                                 outcome: "web01 runs on esx02")
    report.stunAt = 1_795_889_108_440_000_000
    report.resumedAt = 1_795_889_108_443_500_000
    report.announce = [0.25, 50.5, 150.75]
    report.announceFrames = [1201, 1206, 1216]
    if relearn {
        report.relearnMs = 0.42
        report.relearnFrame = 1201
    }
    report.runsOn = runsOn
    return report
}

func demoReport(ping: PingReport, migration: MigrationReport, vm: String = "web01") -> DemoReport {
    let udp = UDPProbeReport.parse("reply seq=1 counter=5 rtt_us=120 at_ns=1\nreply seq=2 counter=6 rtt_us=120 at_ns=2\n")
    let captures = DemoReport.Captures(directory: "Captures/run1", pswitch: "Captures/run1/pswitch.pcap",
                                       vmotion: "Captures/run1/vmotion.pcap", reportJSON: "Captures/run1/report.json",
                                       reportMarkdown: "Captures/run1/report.md", timeline: "Captures/run1/timeline.svg")
    let problems = DemoReport.problems(ping: ping, udp: udp, migrations: [(migration, "esx02")])
    return DemoReport(lab: "l2m", vm: vm, memoryMiB: 1024, touchedMiB: 256, workload: "web", startedAtNs: 1_795_889_107_000_000_000,
                      migration: migration, back: nil, ping: ping, udpCounter: udp, captures: captures,
                      passed: problems.isEmpty, problems: problems)
}

/// Ping replies every 10 ms around the stun, none lost.
let steadyPing: PingReport = {
    var lines: [String] = []
    for sequence in 1...200 {
        let micros = 1_795_889_107_450_000 + UInt64(sequence) * 10_000 + 300
        lines.append("[\(micros / 1_000_000).\(String(format: "%06llu", micros % 1_000_000))] 64 bytes from 10.10.0.10: icmp_seq=\(sequence) ttl=64 time=0.\(300 + sequence % 50) ms")
    }
    lines.append("200 packets transmitted, 200 received, 0% packet loss, time 1990ms")
    return PingParser.parse(lines.joined(separator: "\n"), nominalIntervalMs: 10)
}()

let okUDP = UDPProbeReport.parse("reply seq=1 counter=5 rtt_us=120 at_ns=1\nreply seq=2 counter=6 rtt_us=120 at_ns=2\n")

@Suite("DemoReport.problems: why a run fails")
struct DemoProblemsTests {
    @Test func aCleanRunHasNoProblems() {
        #expect(DemoReport.problems(ping: steadyPing, udp: okUDP, migrations: [(completedMigration(), "esx02")]).isEmpty)
    }

    @Test func lostPingsAreListedBySequence() {
        let twoLost = PingParser.parse("""
            [1795889107.451780] 64 bytes from 10.10.0.10: icmp_seq=1 ttl=64 time=0.280 ms
            [1795889107.471500] no answer yet for icmp_seq=2
            [1795889107.481500] no answer yet for icmp_seq=3
            [1795889107.481810] 64 bytes from 10.10.0.10: icmp_seq=4 ttl=64 time=0.310 ms
            4 packets transmitted, 2 received, 50% packet loss, time 30ms
            """, nominalIntervalMs: 10)
        #expect(twoLost.lostSequences == [2, 3])
        #expect(DemoReport.problems(ping: twoLost, udp: okUDP, migrations: []) == ["2 pings lost (icmp_seq 2, 3)"])
        let oneLost = PingParser.parse(pingWithLossAndDuplicate, nominalIntervalMs: 10)
        #expect(DemoReport.problems(ping: oneLost, udp: okUDP, migrations: []) == ["1 ping lost (icmp_seq 3)"])
    }

    @Test func noReplyAtAll() {
        let silent = PingParser.parse("[1795889107.481500] no answer yet for icmp_seq=1\n1 packets transmitted, 0 received, 100% packet loss, time 0ms", nominalIntervalMs: 10)
        let problems = DemoReport.problems(ping: silent, udp: UDPProbeReport.parse(""), migrations: [])
        #expect(problems == ["1 ping lost (icmp_seq 1)", "no ping reply at all", "no UDP counter reply at all"])
    }

    @Test func counterGoingBackwards() {
        let udp = UDPProbeReport.parse("reply seq=1 counter=9 rtt_us=1 at_ns=1\nreply seq=2 counter=1 rtt_us=1 at_ns=2\n")
        #expect(DemoReport.problems(ping: steadyPing, udp: udp, migrations: [])
            == ["the UDP counter went backwards 1 time(s): guest memory was not carried intact"])
    }

    @Test func vmOnTheWrongHost() {
        let stayed = completedMigration(runsOn: "esx01")
        #expect(DemoReport.problems(ping: steadyPing, udp: okUDP, migrations: [(stayed, "esx02")])
            == ["web01 should run on esx02 but runs on esx01: web01 runs on esx02"])
        let lost = completedMigration(runsOn: nil)
        #expect(DemoReport.problems(ping: steadyPing, udp: okUDP, migrations: [(lost, "esx02")])
            == ["web01 should run on esx02 but runs on no host: web01 runs on esx02"])
    }

    @Test func completedButNotProvedExact() {
        let unproved = completedMigration(verified: false)
        #expect(DemoReport.problems(ping: steadyPing, udp: okUDP, migrations: [(unproved, "esx02")])
            == ["the copy of web01 to esx02 was not proved exact"])
        var failed = completedMigration(verified: false, runsOn: "esx01")
        failed.result.status = .failed
        failed.outcome = "failed: link down; web01 stays on esx01"
        #expect(DemoReport.problems(ping: steadyPing, udp: okUDP, migrations: [(failed, "esx01")]).isEmpty)
    }
}

/// The elements of an XML document, in order, with their attributes and direct text.
final class XMLElements: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text = ""
    }
    var elements: [Element] = []
    private var open: [Int] = []
    var error: (any Error)?

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append(Element(name: elementName, attributes: attributes))
        open.append(elements.count - 1)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        open.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let current = open.last { elements[current].text += string }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) { error = parseError }

    static func parse(_ text: String) throws -> [Element] {
        let collector = XMLElements()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = collector
        let ok = parser.parse()
        try #require(ok, "not well-formed XML: \(String(describing: collector.error ?? parser.parserError))")
        return collector.elements
    }
}

@Suite("TimelineSVG renders well-formed SVG")
struct TimelineSVGTests {
    @Test func polylineHasOnePointPerReply() throws {
        let elements = try XMLElements.parse(TimelineSVG.render(demoReport(ping: steadyPing, migration: completedMigration())))
        #expect(elements.first?.name == "svg")
        let polylines = elements.filter { $0.name == "polyline" }
        #expect(polylines.count == 1)
        let points = try #require(polylines.first?.attributes["points"]).split(separator: " ")
        #expect(points.count == steadyPing.replies.count)
        #expect(points.allSatisfy { $0.split(separator: ",").count == 2 && $0.split(separator: ",").allSatisfy { Double($0) != nil } })
    }

    @Test func stunRectangleAndRelearnLabel() throws {
        let elements = try XMLElements.parse(TimelineSVG.render(demoReport(ping: steadyPing, migration: completedMigration())))
        let stun = elements.filter { $0.name == "rect" && $0.attributes["fill"] == "#fca5a5" }
        #expect(stun.count == 1)
        #expect(elements.contains { $0.name == "title" && $0.text == "stun 3.50 ms" })
        #expect(elements.contains { $0.name == "title" && $0.text == "pre-copy esx01 → esx02" })
        #expect(elements.contains { $0.name == "text" && $0.text == "relearn +0.42 ms" })
        // One dashed green line per RARP.
        #expect(elements.filter { $0.name == "line" && $0.attributes["stroke"] == "#16a34a" }.count == 3)
        // One bar per pre-copy round, labelled with the round and destination.
        #expect(elements.filter { $0.name == "rect" && $0.attributes["fill"] == "#60a5fa" }.count == 3)
        #expect(elements.contains { $0.name == "text" && $0.text == "r3→esx02" })
    }

    @Test("the labels over the plot never overlap, even when pre-copy, stun and relearn are a pixel apart")
    func labelsDoNotOverlap() throws {
        // A short pre-copy right before the stun, the relearn right after: all three labels start
        // within a few pixels of each other.
        var migration = completedMigration()
        migration.result.totalTime = 12
        let elements = try XMLElements.parse(TimelineSVG.render(demoReport(ping: steadyPing, migration: migration)))
        let labels = elements.filter { $0.name == "text" && $0.attributes["font-size"] == "11" }
        #expect(Set(labels.map(\.text)).isSuperset(of: ["pre-copy esx01 → esx02", "stun 3.50 ms", "relearn +0.42 ms"]))
        #expect(Set(labels.map { $0.attributes["y"] }).count >= 3, "the three labels take three rows")
        for (index, a) in labels.enumerated() {
            for b in labels[(index + 1)...] where a.attributes["y"] == b.attributes["y"] {
                let ax = Double(a.attributes["x"]!)!, bx = Double(b.attributes["x"]!)!
                let aEnd = ax + Double(a.text.count) * TimelineSVG.labelCharacterWidth
                let bEnd = bx + Double(b.text.count) * TimelineSVG.labelCharacterWidth
                #expect(aEnd < bx || bEnd < ax, "\(a.text) and \(b.text) overlap on one row")
            }
        }
    }

    @Test("each stun gets a bar of its downtime's phases, widths in proportion, and the phases in words")
    func stunPhasesBar() throws {
        var migration = completedMigration()
        var timeline = SwitchoverTimeline()
        timeline.decidedAt = 1_000
        timeline.freezeAt = 10_000
        timeline.frozenAt = 11_000
        timeline.stateCapturedAt = 12_000
        timeline.finalPagesAt = 52_000
        timeline.switchoverArrivedAt = 252_000
        timeline.verifiedAt = 262_000
        timeline.resumedAt = 310_000
        migration.result.switchover = timeline
        let elements = try XMLElements.parse(TimelineSVG.render(demoReport(ping: steadyPing, migration: migration)))
        let phases = ["freeze", "state-capture", "final-pages", "transfer", "verification", "resume"]
        let bars = elements.filter { $0.name == "rect" && TimelineSVG.phaseColors.values.contains($0.attributes["fill"] ?? "") }
        #expect(bars.map { $0.attributes["fill"] } == phases.map { TimelineSVG.phaseColors[$0] })
        let widths = bars.map { Double($0.attributes["width"]!)! }
        // transfer (0.2 ms) is 200 times the freeze (0.001 ms), out of 0.3 ms in all.
        #expect(abs(widths[3] / widths.reduce(0, +) - 0.2 / 0.3) < 0.01)
        #expect(elements.contains { $0.name == "title" && $0.text == "transfer 0.200 ms" })
        #expect(elements.contains { $0.name == "text" && $0.text.hasPrefix("esx01 → esx02: freeze 0.001 + state capture 0.001 + final pages 0.040") && $0.text.hasSuffix("= 0.300 ms") })
    }

    @Test func noStunOrRelearnWhenTheyDidNotHappen() throws {
        var migration = completedMigration(relearn: false)
        migration.stunAt = nil
        migration.resumedAt = nil
        let elements = try XMLElements.parse(TimelineSVG.render(demoReport(ping: steadyPing, migration: migration)))
        #expect(!elements.contains { $0.name == "rect" && $0.attributes["fill"] == "#fca5a5" })
        #expect(!elements.contains { $0.text.hasPrefix("relearn") })
        #expect(elements.filter { $0.name == "polyline" }.count == 1)
    }

    @Test func namesAreEscaped() throws {
        let elements = try XMLElements.parse(TimelineSVG.render(demoReport(ping: steadyPing, migration: completedMigration(), vm: "a<b>&c")))
        #expect(elements.contains { $0.name == "text" && $0.text.hasPrefix("a<b>&c: ping RTT") })
    }

    @Test func lostPingsAreMarkedAndNoRepliesStillRender() throws {
        let silent = PingParser.parse("[1795889107.481500] no answer yet for icmp_seq=1", nominalIntervalMs: 10)
        let elements = try XMLElements.parse(TimelineSVG.render(demoReport(ping: silent, migration: completedMigration())))
        #expect(elements.contains { $0.name == "text" && $0.text == "lost icmp_seq 1" })
        #expect(elements.first { $0.name == "polyline" }?.attributes["points"] == "")
    }
}

@Suite("DemoMarkdown renders the human report")
struct DemoMarkdownTests {
    @Test func containsTheRoundsTableAndTheCaptureFilters() {
        let text = DemoMarkdown.render(demoReport(ping: steadyPing, migration: completedMigration()))
        #expect(text.hasPrefix("# l2motion demo: web01, lab l2m\n"))
        #expect(text.contains("**Passed**"))
        #expect(text.contains("## Migration esx01 → esx02: completed"))
        #expect(text.contains("| round | pages | zero pages | bytes | ms | Mbit/s | dirtied during |\n|---|---|---|---|---|---|---|\n"
            + "| 1 | 262144 | 196608 | 270000000 | 950.5 | 2272 | 3000 |\n"
            + "| 2 | 3000 | 0 | 9000000 | 32.3 | 2233 | 120 |\n"
            + "| 3 | 120 | 0 | 500000 | 1.5 | 2666 | 0 |\n"))
        #expect(text.contains("| downtime (stun → resume) | 3.50 ms |"))
        #expect(text.contains("| RARP capture frames | 1201, 1206, 1216 |"))
        #expect(text.contains("| switch relearn | +0.42 ms after resume (frame 1201) |"))
        #expect(text.contains("- preflight: datastore ds01 mounted on esx02"))
        #expect(text.contains("`Captures/run1/pswitch.pcap` — try the display filters `rarp`, `arp || icmp`"))
        #expect(text.contains("`Captures/run1/vmotion.pcap` — try `tcp.port == 8000`"))
        #expect(text.contains("| 200 | 200 | 0 | 0 | 0 |"))
    }

    @Test func aFailedRunListsItsProblems() {
        let report = demoReport(ping: PingParser.parse(pingWithLossAndDuplicate, nominalIntervalMs: 10), migration: completedMigration(relearn: false))
        let text = DemoMarkdown.render(report)
        #expect(text.contains("**Failed**: 1 ping lost (icmp_seq 3)\n"))
        #expect(text.contains("| switch relearn | - |"))
    }
}

@Suite("MigrationReport JSON: QEMU names at the top level")
struct MigrationReportJSONTests {
    @Test func topLevelCarriesQEMUNamesAndCoordinatorFields() throws {
        let data = try JSONEncoder().encode(completedMigration())
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["status", "total-time", "setup-time", "downtime", "ram", "rounds", "announce", "relearn-ms", "verified",
                    "id", "vm", "source", "destination", "preflight", "stun-at-ns", "resumed-at-ns", "announce-frames",
                    "relearn-frame", "runs-on", "outcome", "expected-downtime", "cpu-throttle-percentage"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["result"] == nil)
        #expect(object["status"] as? String == "completed")
        #expect(object["total-time"] as? Double == 1012.5)
        #expect(object["downtime"] as? Double == 3.5)
        #expect(object["relearn-ms"] as? Double == 0.42)
        #expect(object["verified"] as? Bool == true)
        let ram = try #require(object["ram"] as? [String: Any])
        for key in ["transferred", "remaining", "total", "duplicate", "normal", "dirty-sync-count", "mbps"] {
            #expect(ram[key] != nil, "ram is missing \(key)")
        }
        #expect(ram["transferred"] as? Int == 280_000_000)
        #expect(ram["total"] as? Int == 1_073_741_824)
        #expect(ram["dirty-sync-count"] as? Int == 3)
        let rounds = try #require(object["rounds"] as? [[String: Any]])
        #expect(rounds.count == 3)
        #expect(rounds.first?["zero-pages"] as? Int == 196_608)
        #expect(object["announce"] as? [Double] == [0.25, 50.5, 150.75])
    }

    @Test func absentOptionalsAreLeftOut() throws {
        var report = completedMigration(relearn: false)
        report.stunAt = nil
        report.runsOn = nil
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any])
        #expect(object["relearn-ms"] == nil)
        #expect(object["stun-at-ns"] == nil)
        #expect(object["runs-on"] == nil)
    }

    @Test(arguments: [true, false])
    func decodesBackEqual(relearn: Bool) throws {
        let report = completedMigration(relearn: relearn)
        let decoded = try JSONDecoder().decode(MigrationReport.self, from: JSONEncoder().encode(report))
        #expect(decoded.result == report.result)
        #expect(decoded.id == report.id && decoded.vm == report.vm)
        #expect(decoded.source == report.source && decoded.destination == report.destination)
        #expect(decoded.preflight == report.preflight)
        #expect(decoded.stunAt == report.stunAt && decoded.resumedAt == report.resumedAt)
        #expect(decoded.announce == report.announce && decoded.announceFrames == report.announceFrames)
        #expect(decoded.relearnMs == report.relearnMs && decoded.relearnFrame == report.relearnFrame)
        #expect(decoded.runsOn == report.runsOn && decoded.outcome == report.outcome)
    }
}
