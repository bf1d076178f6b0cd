import Foundation
import L2Control
import L2Lab
import L2Migration

/// Shows migration progress: one rewritten line on a terminal, a plain line per change otherwise.
final class ProgressLine: @unchecked Sendable {
    private let enabled: Bool
    private let terminal = isatty(STDERR_FILENO) == 1
    private var last = ""
    private let lock = NSLock()

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ record: MigrationProgress) {
        guard enabled else { return }
        let percent = record.total > 0 ? 100 * Double(record.total - min(record.remaining, record.total)) / Double(record.total) : 0
        let line = String(format: "  %@ round %d  %5.1f%%  remaining %@  %.0f Mbit/s%@",
                          record.phase, record.round, percent, ByteCount.format(record.remaining), record.mbps,
                          record.throttle > 0 ? "  throttle \(record.throttle)%" : "")
        lock.withLock {
            if terminal {
                FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
            } else if line != last {
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            last = line
        }
    }

    func finish() {
        lock.withLock {
            if enabled && terminal && !last.isEmpty { FileHandle.standardError.write(Data("\n".utf8)) }
        }
    }
}

/// Human-readable byte counts.
enum ByteCount {
    static func format(_ bytes: Int) -> String {
        let value = Double(bytes)
        if value >= 1_073_741_824 { return String(format: "%.2f GiB", value / 1_073_741_824) }
        if value >= 1_048_576 { return String(format: "%.1f MiB", value / 1_048_576) }
        if value >= 1024 { return String(format: "%.1f KiB", value / 1024) }
        return "\(bytes) B"
    }
}

/// The readable end-of-migration summary.
enum MigrationSummary {
    static func print(_ report: MigrationReport) {
        let result = report.result
        Swift.print("migration \(report.vm) \(report.source) -> \(report.destination): \(result.status.rawValue)")
        for check in report.preflight { Swift.print("  preflight  \(check)") }
        if !result.rounds.isEmpty {
            Swift.print("  rounds")
            Swift.print("    round   pages    zero     bytes        ms      Mbit/s  dirtied")
            for round in result.rounds {
                Swift.print(String(format: "    %5d %7d %7d %9@ %9.1f %10.0f %8d", round.round, round.pages, round.zeroPages,
                                   ByteCount.format(round.bytes), round.durationMs, round.mbps, round.dirtiedDuring)
                            + (round.laneBytes.map { "  lanes " + $0.map(ByteCount.format).joined(separator: " / ") } ?? ""))
            }
            LaneSummary.print(result.lanes ?? [])
        }
        Swift.print(String(format: "  total %.1f ms, setup %.1f ms, downtime %@ (expected %@), transferred %@, %.0f Mbit/s",
                           result.totalTime, result.setupTime ?? 0, result.downtime.map { String(format: "%.2f ms", $0) } ?? "-",
                           result.expectedDowntime.map { String(format: "%.2f ms", $0) } ?? "-",
                           ByteCount.format(result.ram.transferred), result.ram.mbps))
        if let timeline = result.switchover {
            if let downtime = SwitchoverText.downtime(timeline) { Swift.print("  stun       \(downtime)") }
            if let around = SwitchoverText.around(timeline) { Swift.print("             \(around)") }
        }
        if let ack = result.switchoverAck { Swift.print("  switchover-ack  \(report.destination): \(ack)") }
        if let postcopy = PostcopyText.summary(result) { Swift.print("  post-copy  \(postcopy)") }
        Swift.print("  pages: \(result.ram.normal) normal, \(result.ram.duplicate) zero; dirty syncs \(result.ram.dirtySyncCount); throttle \(result.cpuThrottlePercentage)%; copy verified: \(result.verified ? "yes" : "no")")
        if !report.announce.isEmpty {
            Swift.print("  RARP sent at +" + report.announce.map { String(format: "%.1f", $0) }.joined(separator: ", +") + " ms after resume"
                        + (report.announceNAs.map { " + \($0) unsolicited NA\($0 == 1 ? "" : "s")" } ?? "")
                        + (report.announceFrames.isEmpty ? "" : "; capture frames \(report.announceFrames.map(String.init).joined(separator: ", "))"))
        }
        if let dropped = RelearnText.dropped(report), !report.announce.isEmpty { Swift.print("  \(dropped)") }
        if let none = RelearnText.noAnnounce(report) { Swift.print("  \(none)") }
        if let relearn = RelearnText.relearn(report) { Swift.print("  \(relearn)") }
        for line in RelearnText.perSwitch(report) { Swift.print("  \(line)") }
        for conflict in report.stationConflicts { Swift.print("  \(RelearnText.conflict(conflict, vm: report.vm))") }
        if let error = result.error { Swift.print("  error: \(error)") }
        Swift.print("  outcome: \(report.outcome)")
    }
}

/// The lanes of a migration over several streams, under its rounds: bytes and mean rate per lane,
/// and the NIC each left from (nothing for one stream).
enum LaneSummary {
    static func print(_ lanes: [LaneStats]) {
        guard lanes.count > 1 else { return }
        func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        Swift.print("    lane  nic        bytes      Mbit/s")
        for lane in lanes {
            let nic = (lane.interface ?? "-").padding(toLength: 6, withPad: " ", startingAt: 0)
            Swift.print("    \(pad(String(lane.lane), 4))  \(nic)\(pad(ByteCount.format(lane.bytes), 11))\(pad(String(format: "%.0f", lane.mbps), 12))")
        }
    }
}
