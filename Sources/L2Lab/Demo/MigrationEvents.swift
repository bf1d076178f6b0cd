import Foundation
import L2Capture

/// A migration's moments as capture comments, from what its report recorded: pre-copy start, each
/// round's start, stun, resume, each RARP ("announce 2/5 for web01", "… + 2 unsolicited NAs" with
/// `--announce-ipv6 na`, on the RARP frame itself, and
/// those a fault dropped), the switch's relearn (on the frame that moved the station), each
/// station-move conflict (on the frame another port sent the VM's MAC in) and the end. Every time is one the
/// source, the destination or the switch stamped from the wall clock; a moment the report does
/// not carry (a report from before these fields) is left out rather than guessed.
public enum MigrationEvents {
    /// The events of `report`: its RARPs and relearn anchored on `productionSwitch`'s frame numbers;
    /// the pre-copy and its rounds placed on `vmotionSwitch`'s frames.
    public static func events(of report: MigrationReport, productionSwitch: String, vmotionSwitch: String) -> [CaptureEvent] {
        let result = report.result
        let vm = report.vm
        var events: [CaptureEvent] = []
        if let precopy = result.precopyStartedAt {
            events.append(CaptureEvent(wallNanoseconds: precopy, text: "pre-copy of \(vm) starts: \(report.source) → \(report.destination)",
                                       preferredSwitch: vmotionSwitch))
        }
        for round in result.rounds {
            guard let start = round.startedAt else { continue }
            let stopAndCopy = report.stunAt.map { start >= $0 } ?? false
            let text = stopAndCopy ? "round \(round.round) of \(vm) starts: the last dirty pages, sent while it is stunned"
                                   : "round \(round.round) of \(vm) starts"
            events.append(CaptureEvent(wallNanoseconds: start, text: text, preferredSwitch: vmotionSwitch))
        }
        if let stun = report.stunAt {
            events.append(CaptureEvent(wallNanoseconds: stun, text: "stun: \(vm) stops on \(report.source)"))
        }
        if let resumed = report.resumedAt {
            let missing = result.postcopy == nil ? "" : " with pages missing (postcopy-active)"
            events.append(CaptureEvent(wallNanoseconds: resumed, text: "resume: \(vm) runs on \(report.destination)\(missing)"))
        }
        if let postcopy = result.postcopy, let ended = postcopy.endedAt {
            events.append(CaptureEvent(wallNanoseconds: ended, text: "post-copy of \(vm) ends: " + (PostcopyText.summary(result) ?? ""),
                                       preferredSwitch: vmotionSwitch))
        }
        let base = report.resumedAt ?? report.stunAt ?? 0
        let dropped = report.announceDropped.count
        let scheduled = dropped + report.announceFrames.count
        for (index, after) in report.announceDropped.enumerated() {
            events.append(CaptureEvent(wallNanoseconds: offset(base, milliseconds: after),
                                       text: "announce \(index + 1)/\(scheduled) for \(vm) dropped (fault)", preferredSwitch: productionSwitch))
        }
        if let none = RelearnText.noAnnounce(report) {
            events.append(CaptureEvent(wallNanoseconds: base, text: "\(none) for \(vm)", preferredSwitch: productionSwitch))
        }
        // With --announce-ipv6 na each sent announce also carried the same number of unsolicited NAs.
        let perRound = report.announce.isEmpty ? 0 : (report.announceNAs ?? 0) / report.announce.count
        let advertisements = perRound == 0 ? "" : " + \(perRound) unsolicited NA\(perRound == 1 ? "" : "s")"
        for (index, frame) in report.announceFrames.enumerated() {
            let after = report.announce.indices.contains(index) ? report.announce[index] : 0
            events.append(CaptureEvent(wallNanoseconds: offset(base, milliseconds: after),
                                       text: "announce \(dropped + index + 1)/\(scheduled) for \(vm)\(advertisements)",
                                       anchor: .init(switchName: productionSwitch, frame: frame)))
        }
        if let frame = report.relearnFrame {
            let after = report.relearnMs ?? 0
            let how = report.relearnByAnnounce == false ? " by frame \(frame), not an announce" : ""
            events.append(CaptureEvent(wallNanoseconds: offset(base, milliseconds: after),
                                       text: "relearn: \(productionSwitch) moved \(vm) to its new port\(how), \(String(format: "%.2f", after)) ms after the resume",
                                       anchor: .init(switchName: productionSwitch, frame: frame)))
        }
        for conflict in report.stationConflicts {
            events.append(CaptureEvent(wallNanoseconds: conflict.timeNs, text: RelearnText.conflict(conflict, vm: vm),
                                       anchor: .init(switchName: productionSwitch, frame: conflict.frame)))
        }
        // The commit on the wire when the source recorded it; else the state machine's end (which,
        // for a completed migration, is when it heard `resumed`, before it proved its frozen memory).
        if let end = report.committedAt ?? result.endedAt {
            let how = result.status == .completed ? "completed" : "ended \(result.status.rawValue)"
            events.append(CaptureEvent(wallNanoseconds: end, text: "completion: migration of \(vm) \(report.source) → \(report.destination) \(how)",
                                       preferredSwitch: vmotionSwitch))
        }
        return events
    }

    /// The events of a demo run: the migration, then the migration back if there was one.
    public static func events(of report: DemoReport) -> [CaptureEvent] {
        let production = DemoReport.Captures.switchName(ofCapture: report.captures.pswitch)
        let vmotion = DemoReport.Captures.switchName(ofCapture: report.captures.vmotion)
        return ([report.migration] + (report.back.map { [$0] } ?? [])).flatMap {
            events(of: $0, productionSwitch: production, vmotionSwitch: vmotion)
        }
    }

    /// `base` plus a signed offset in milliseconds, kept within UInt64.
    static func offset(_ base: UInt64, milliseconds: Double) -> UInt64 {
        let nanoseconds = (milliseconds * 1e6).rounded()
        guard nanoseconds.isFinite, abs(nanoseconds) < 9e18 else { return base }
        let delta = Int64(nanoseconds)
        guard delta >= 0 else { return base - min(base, delta.magnitude) }
        let (sum, overflow) = base.addingReportingOverflow(UInt64(delta))
        return overflow ? .max : sum
    }
}

extension DemoReport.Captures {
    /// The switch a capture file belongs to: its file name without the extension (a switch writes
    /// `<switch>.pcapng`).
    public static func switchName(ofCapture path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = file.lastIndex(of: "."), dot != file.startIndex else { return file }
        return String(file[..<dot])
    }
}
