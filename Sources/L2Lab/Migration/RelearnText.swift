import Foundation

/// The relearn, the station-move conflicts and the announces that were not sent, in words: one
/// source for the text summary, `report.md`, the timeline and the capture comments.
public enum RelearnText {
    /// "switch relearned the MAC 0.09 ms after resume (frame 424)"; "… by frame 430, not an
    /// announce"; "switch never moved the MAC onto esx02's port p3"; with "; its hold-down first ignored
    /// the move (frame 172, 0.10 ms after the resume)" when the switch refused a move; nil when nothing
    /// was measured.
    public static func relearn(_ report: MigrationReport) -> String? {
        let held = report.moveIgnored.map { "; its hold-down first ignored the move (frame \($0.frame), \(when($0.afterResumeMs)))" } ?? ""
        if let text = relearnShort(report, signed: false) { return "switch relearned the MAC " + text + held }
        guard let port = report.destinationPort else { return nil }
        return "switch never moved the MAC onto \(port.owned) (\(report.destination)'s uplink)" + held
    }

    /// A lab across machines, one line per machine's production switch: "machine b, switch pswitch:
    /// relearned the MAC on p3 (esx02) 0.09 ms after resume (frame 424)"; empty on one machine.
    public static func perSwitch(_ report: MigrationReport) -> [String] {
        report.switchRelearns.map { row in
            let place = "machine \(row.machine ?? "-"), switch \(row.switchName)"
            guard let port = row.port else { return "\(place): no port towards \(report.destination) found" }
            guard let milliseconds = row.relearnMs else { return "\(place): never moved the MAC onto \(port.owned)" }
            let frame = row.frame.map(String.init) ?? "-"
            let how = row.byAnnounce == false ? "by frame \(frame), not an announce" : "(frame \(frame))"
            return "\(place): relearned the MAC on \(port.owned) " + String(format: "%.2f ms after resume ", milliseconds) + how
        }
    }

    /// The relearn for a table cell or a label: "+0.42 ms after resume (frame 1201)", or "+12.30 ms
    /// after resume by frame 430, not an announce".
    public static func relearnShort(_ report: MigrationReport, signed: Bool = true) -> String? {
        guard let milliseconds = report.relearnMs else { return nil }
        let frame = report.relearnFrame.map(String.init) ?? "-"
        let time = String(format: signed ? "%+.2f ms after resume" : "%.2f ms after resume", milliseconds)
        return report.relearnByAnnounce == false ? "\(time) by frame \(frame), not an announce" : "\(time) (frame \(frame))"
    }

    /// "station-move conflict: client01's port p1 sent web01's MAC at frame 300, 364.20 ms before the
    /// resume (the switch moved it from esx01's port p2)".
    public static func conflict(_ move: StationMove, vm: String) -> String {
        "station-move conflict: " + conflictDetail(move, vm: vm)
    }

    /// The conflict without its label: "client01's port p1 sent web01's MAC at frame 300, …".
    public static func conflictDetail(_ move: StationMove, vm: String) -> String {
        let how = move.from.map { "the switch moved it from \($0.owned)" } ?? "the switch learned it there"
        return "\(move.to.owned) sent \(vm)'s MAC at frame \(move.frame), \(when(move.afterResumeMs)) (\(how))"
    }

    /// "announce 1..2 dropped (fault)", "announce 1 dropped (fault)"; nil when none was dropped.
    public static func dropped(_ report: MigrationReport) -> String? {
        switch report.announceDropped.count {
        case 0: nil
        case 1: "announce 1 dropped (fault)"
        case let count: "announce 1..\(count) dropped (fault)"
        }
    }

    /// Why no announce went out after a resume ("no RARP sent: Notify Switches off (--announce
    /// none)"); nil when one did, or the VM never resumed on the destination.
    public static func noAnnounce(_ report: MigrationReport) -> String? {
        guard report.resumedAt != nil, report.announce.isEmpty else { return nil }
        if !report.notifySwitches { return "no RARP sent: Notify Switches off (--announce none)" }
        if let dropped = dropped(report) { return "no RARP sent: \(dropped)" }
        return "no RARP sent"
    }

    /// "364.20 ms before the resume" or "0.09 ms after the resume".
    static func when(_ milliseconds: Double) -> String {
        milliseconds < 0 ? String(format: "%.2f ms before the resume", -milliseconds)
                         : String(format: "%.2f ms after the resume", milliseconds)
    }
}
