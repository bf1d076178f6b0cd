import Foundation
import L2Capture
import L2Switch
import Testing
@testable import L2Lab

/// Issue 23's run: client01 sent web01's MAC 364.20 ms before the resume and again 30 ms after the
/// relearn; the RARP at frame 1201 still made the relearn.
func conflictedMigration() -> MigrationReport {
    var report = completedMigration()
    report.relearnByAnnounce = true
    report.destinationPort = SwitchPortRef(id: 3, name: "esx02")
    let resumed = report.resumedAt!
    report.stationConflicts = [
        StationMove(from: SwitchPortRef(id: 2, name: "esx01"), to: SwitchPortRef(id: 1, name: "client01"), frame: 1100,
                    timeNs: resumed - 364_200_000, afterResumeMs: -364.2),
        StationMove(from: SwitchPortRef(id: 3, name: "esx02"), to: SwitchPortRef(id: 1, name: "client01"), frame: 1203,
                    timeNs: resumed + 30_000_000, afterResumeMs: 30),
    ]
    return report
}

let firstConflict = "station-move conflict: client01's port p1 sent web01's MAC at frame 1100, 364.20 ms before the resume (the switch moved it from esx01's port p2)"
let secondConflict = "station-move conflict: client01's port p1 sent web01's MAC at frame 1203, 30.00 ms after the resume (the switch moved it from esx02's port p3)"

@Suite("The relearn, conflicts and missing announces in the reports")
struct RelearnReportTests {
    @Test("the text: the relearn as before, each conflict on its own line")
    func text() {
        let report = conflictedMigration()
        #expect(RelearnText.relearn(report) == "switch relearned the MAC 0.42 ms after resume (frame 1201)")
        #expect(report.stationConflicts.map { RelearnText.conflict($0, vm: "web01") } == [firstConflict, secondConflict])
        #expect(RelearnText.relearn(completedMigration()) == "switch relearned the MAC 0.42 ms after resume (frame 1201)",
                "a report from before the matcher reads as before")
        var other = completedMigration()
        other.relearnByAnnounce = false
        #expect(RelearnText.relearn(other) == "switch relearned the MAC 0.42 ms after resume by frame 1201, not an announce")
        var never = completedMigration(relearn: false)
        #expect(RelearnText.relearn(never) == nil)
        never.destinationPort = SwitchPortRef(id: 3, name: "esx02")
        #expect(RelearnText.relearn(never) == "switch never moved the MAC onto esx02's port p3 (esx02's uplink)")
        let learned = StationMove(from: nil, to: SwitchPortRef(id: 4, name: "client02"), frame: 9, timeNs: 0, afterResumeMs: 0)
        #expect(RelearnText.conflict(learned, vm: "web01")
                == "station-move conflict: client02's port p4 sent web01's MAC at frame 9, 0.00 ms after the resume (the switch learned it there)")
    }

    @Test("announces: dropped by the fault, none by Notify Switches off, nothing said when they went out")
    func announces() {
        var report = completedMigration()
        #expect(RelearnText.dropped(report) == nil && RelearnText.noAnnounce(report) == nil)
        report.announceDropped = [0.1]
        #expect(RelearnText.dropped(report) == "announce 1 dropped (fault)")
        report.announceDropped = [0.1, 50.2]
        #expect(RelearnText.dropped(report) == "announce 1..2 dropped (fault)")
        report.announce = []
        report.announceFrames = []
        report.announceDropped = [0, 50, 200, 450, 800]
        #expect(RelearnText.noAnnounce(report) == "no RARP sent: announce 1..5 dropped (fault)")
        report.announceDropped = []
        report.notifySwitches = false
        #expect(RelearnText.noAnnounce(report) == "no RARP sent: Notify Switches off (--announce none)")
        report.resumedAt = nil
        #expect(RelearnText.noAnnounce(report) == nil, "a VM that never resumed on the destination is not announced")
    }

    @Test("a conflict fails the demo with the reason")
    func demoFails() {
        let demo = demoReport(ping: steadyPing, migration: conflictedMigration())
        #expect(!demo.passed)
        #expect(demo.problems == [firstConflict, secondConflict])
        let text = DemoMarkdown.render(demo)
        #expect(text.contains("**Failed**: \(firstConflict); \(secondConflict)\n"))
        #expect(text.contains("| switch relearn | +0.42 ms after resume (frame 1201) |"))
        #expect(text.contains("| station-move conflict | client01's port p1 sent web01's MAC at frame 1100, 364.20 ms before the resume (the switch moved it from esx01's port p2) |"))
    }

    @Test("report.md: no RARP, dropped RARPs, a relearn by another frame")
    func markdownAnnounces() {
        var report = completedMigration()
        report.relearnByAnnounce = false
        report.relearnFrame = 1300
        report.relearnMs = 12.3
        report.announce = []
        report.announceFrames = []
        report.notifySwitches = false
        var text = DemoMarkdown.render(demoReport(ping: steadyPing, migration: report))
        #expect(text.contains("| RARP after resume | no RARP sent: Notify Switches off (--announce none) |"))
        #expect(text.contains("| switch relearn | +12.30 ms after resume by frame 1300, not an announce |"))
        #expect(!text.contains("RARP dropped"))
        report = completedMigration()
        report.announceDropped = [0.1, 50.1]
        text = DemoMarkdown.render(demoReport(ping: steadyPing, migration: report))
        #expect(text.contains("| RARP dropped | announce 1..2 dropped (fault) |"))
        #expect(text.contains("| RARP after resume | +0.2 ms, +50.5 ms, +150.8 ms |"))
    }

    @Test("JSON: the normal report gains only relearn-by-announce and destination-port; conflicts and drops round-trip")
    func json() throws {
        var normal = completedMigration()
        normal.relearnByAnnounce = true
        normal.destinationPort = SwitchPortRef(id: 3, name: "esx02")
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(normal)) as? [String: Any])
        #expect(object["relearn-by-announce"] as? Bool == true)
        #expect((object["destination-port"] as? [String: Any])?["id"] as? Int == 3)
        for key in ["station-conflicts", "announce-dropped", "notify-switches"] { #expect(object[key] == nil, "\(key)") }

        var report = conflictedMigration()
        report.announceDropped = [0.2]
        report.notifySwitches = false
        let data = try JSONEncoder().encode(report)
        let encoded = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let conflicts = try #require(encoded["station-conflicts"] as? [[String: Any]])
        #expect(conflicts.first?["frame"] as? Int == 1100 && conflicts.first?["after-resume-ms"] as? Double == -364.2)
        #expect((conflicts.first?["to"] as? [String: Any])?["name"] as? String == "client01")
        #expect(encoded["notify-switches"] as? Bool == false)
        let decoded = try JSONDecoder().decode(MigrationReport.self, from: data)
        #expect(decoded.stationConflicts == report.stationConflicts)
        #expect(decoded.announceDropped == [0.2] && !decoded.notifySwitches && decoded.relearnByAnnounce == true)
        #expect(decoded.destinationPort == report.destinationPort)
        let old = try JSONDecoder().decode(MigrationReport.self, from: JSONEncoder().encode(completedMigration()))
        #expect(old.stationConflicts.isEmpty && old.announceDropped.isEmpty && old.notifySwitches && old.relearnByAnnounce == nil)
    }

    @Test("the timeline: a red line and label per conflict, grey dots per dropped RARP, the relearn says what made it")
    func timeline() throws {
        var report = conflictedMigration()
        report.announceDropped = [0.1, 50.1]
        report.relearnByAnnounce = false
        let elements = try XMLElements.parse(TimelineSVG.render(demoReport(ping: steadyPing, migration: report)))
        let conflicts = elements.filter { $0.name == "line" && $0.attributes["stroke"] == TimelineSVG.conflictColor }
        #expect(conflicts.count == 2)
        #expect(elements.contains { $0.name == "title" && $0.text == firstConflict })
        #expect(elements.filter { $0.name == "text" && $0.text == "conflict: client01's port p1, frame 1100" }.count == 1)
        #expect(elements.filter { $0.name == "line" && $0.attributes["stroke"] == TimelineSVG.droppedColor }.count == 2)
        #expect(elements.contains { $0.name == "text" && $0.text == "relearn +0.42 ms by frame 1201, not an announce" })
        #expect(elements.contains { $0.name == "text" && $0.text.hasSuffix("purple relearn, grey dots dropped RARP, red line station-move conflict") })
        // The conflict before the resume is drawn left of the stun.
        let stun = try #require(elements.first { $0.name == "rect" && $0.attributes["fill"] == "#fca5a5" })
        #expect(Double(conflicts[0].attributes["x1"]!)! < Double(stun.attributes["x"]!)!)

        let normal = try XMLElements.parse(TimelineSVG.render(demoReport(ping: steadyPing, migration: completedMigration())))
        #expect(!normal.contains { $0.name == "line" && [TimelineSVG.conflictColor, TimelineSVG.droppedColor].contains($0.attributes["stroke"] ?? "") })
        #expect(normal.contains { $0.name == "text" && $0.text.hasSuffix("green dashes RARP, purple relearn") })
    }

    @Test("capture comments: each conflict on its frame, dropped announces counted in the schedule, the relearn's cause")
    func captureComments() {
        var report = conflictedMigration()
        report.announceDropped = [0.1, 50.1]
        report.relearnByAnnounce = false
        report.relearnFrame = 1300
        let events = MigrationEvents.events(of: report, productionSwitch: "pswitch", vmotionSwitch: "vmotion")
        let texts = events.map(\.text)
        #expect(texts.contains("announce 1/5 for web01 dropped (fault)") && texts.contains("announce 2/5 for web01 dropped (fault)"))
        #expect(Array(texts.filter { $0.hasPrefix("announce") && !$0.hasSuffix("(fault)") })
                == ["announce 3/5 for web01", "announce 4/5 for web01", "announce 5/5 for web01"])
        #expect(texts.contains("relearn: pswitch moved web01 to its new port by frame 1300, not an announce, 0.42 ms after the resume"))
        let conflict = events.first { $0.text == firstConflict }
        #expect(conflict?.anchor == CaptureEvent.Anchor(switchName: "pswitch", frame: 1100))
        #expect(conflict?.wallNanoseconds == report.resumedAt! - 364_200_000)
        #expect(events.first { $0.text == "announce 1/5 for web01 dropped (fault)" }?.preferredSwitch == "pswitch")
        #expect(!texts.contains { $0.hasPrefix("no RARP") })
        var silent = completedMigration()
        silent.announce = []
        silent.announceFrames = []
        silent.notifySwitches = false
        let none = MigrationEvents.events(of: silent, productionSwitch: "pswitch", vmotionSwitch: "vmotion")
        #expect(none.map(\.text).contains("no RARP sent: Notify Switches off (--announce none) for web01"))
        #expect(none.first { $0.text.hasPrefix("no RARP") }?.wallNanoseconds == silent.resumedAt)
    }
}
