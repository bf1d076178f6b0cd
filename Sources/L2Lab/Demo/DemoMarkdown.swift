import Foundation
import L2Guest

/// The human report (`report.md`): summary, migrations with their rounds, ping continuity, the UDP
/// counter, the capture files with display filters, and the timeline picture.
public enum DemoMarkdown {
    public static func render(_ report: DemoReport) -> String {
        var lines: [String] = []
        lines.append("# l2motion demo: \(report.vm), lab \(report.lab)")
        lines.append("")
        lines.append(report.passed ? "**Passed**: no ping lost, the UDP counter continued, the TCP sessions survived, the VM moved."
                                   : "**Failed**: " + report.problems.joined(separator: "; "))
        lines.append("")
        lines.append("VM \(report.vm): \(report.memoryMiB) MiB, \(report.touchedMiB) MiB touched, workload `\(report.workload)`\(report.dirtyRateMiBPerSecond.map { " at \(WorkloadSpec.formatMebibytes($0)) MiB/s" } ?? "").")
        if let addresses = report.vmAddresses {
            lines.append("")
            lines.append("Addresses: \(addresses.map { "`\($0)`" }.joined(separator: ", ")); TCP services: \((report.vmServices ?? []).map { "`\($0)`" }.joined(separator: ", ")).")
        }
        lines.append("")
        lines.append("![timeline](timeline.svg)")
        for migration in [report.migration] + (report.back.map { [$0] } ?? []) {
            let result = migration.result
            lines.append("")
            lines.append("## Migration \(migration.source) → \(migration.destination): \(result.status.rawValue)")
            lines.append("")
            for check in migration.preflight { lines.append("- preflight: \(check)") }
            lines.append("")
            lines.append("| figure | value |")
            lines.append("|---|---|")
            lines.append("| total-time | \(String(format: "%.1f", result.totalTime)) ms |")
            lines.append("| setup-time | \(String(format: "%.1f", result.setupTime ?? 0)) ms |")
            lines.append("| downtime (stun → resume) | \(result.downtime.map { String(format: "%.2f ms", $0) } ?? "-") |")
            lines.append("| expected-downtime | \(result.expectedDowntime.map { String(format: "%.2f ms", $0) } ?? "-") |")
            if let timeline = result.switchover {
                if let downtime = SwitchoverText.downtime(timeline) { lines.append("| downtime's phases (ms) | \(downtime) |") }
                if let around = SwitchoverText.around(timeline) { lines.append("| around the stun | \(around) |") }
            }
            if let ack = result.switchoverAck { lines.append("| switchover-ack | \(ack) |") }
            lines.append("| transferred | \(result.ram.transferred) bytes |")
            lines.append("| normal / zero pages | \(result.ram.normal) / \(result.ram.duplicate) |")
            lines.append("| dirty-sync-count | \(result.ram.dirtySyncCount) |")
            lines.append("| mbps | \(String(format: "%.0f", result.ram.mbps)) |")
            lines.append("| throttle | \(result.cpuThrottlePercentage) % |")
            lines.append("| copy proved exact | \(result.verified ? "yes" : "no") |")
            lines.append("| RARP after resume | \(RelearnText.noAnnounce(migration) ?? migration.announce.map { String(format: "+%.1f ms", $0) }.joined(separator: ", ")) |")
            if let dropped = RelearnText.dropped(migration) { lines.append("| RARP dropped | \(dropped) |") }
            if let advertisements = migration.announceNAs { lines.append("| unsolicited NAs (IPv6) | \(advertisements) |") }
            lines.append("| RARP capture frames | \(migration.announceFrames.map(String.init).joined(separator: ", ")) |")
            lines.append("| switch relearn | \(RelearnText.relearnShort(migration) ?? RelearnText.relearn(migration) ?? "-") |")
            for conflict in migration.stationConflicts { lines.append("| station-move conflict | \(RelearnText.conflictDetail(conflict, vm: migration.vm)) |") }
            lines.append("| outcome | \(migration.outcome) |")
            if !result.rounds.isEmpty {
                lines.append("")
                lines.append("| round | pages | zero pages | bytes | ms | Mbit/s | dirtied during |")
                lines.append("|---|---|---|---|---|---|---|")
                for round in result.rounds {
                    lines.append("| \(round.round) | \(round.pages) | \(round.zeroPages) | \(round.bytes) | \(String(format: "%.1f", round.durationMs)) | \(String(format: "%.0f", round.mbps)) | \(round.dirtiedDuring) |")
                }
            }
            if let lanes = result.lanes, lanes.count > 1 {
                lines.append("")
                lines.append("| lane | NIC | bytes | Mbit/s | bytes per round |")
                lines.append("|---|---|---|---|---|")
                for lane in lanes {
                    let perRound = result.rounds.map { round in round.laneBytes.map { lane.lane < $0.count ? String($0[lane.lane]) : "-" } ?? "-" }
                    lines.append("| \(lane.lane) | \(lane.interface ?? "-") | \(lane.bytes) | \(String(format: "%.0f", lane.mbps)) | \(perRound.joined(separator: ", ")) |")
                }
            }
        }
        let ping = report.ping
        lines.append("")
        lines.append("## Ping continuity (the kernel's ping from the client)")
        lines.append("")
        lines.append("| sent | received | lost | in flight at stop | duplicates | longest gap | RTT p50 | RTT p99 | RTT max | real send rate |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        lines.append("| \(ping.sent) | \(ping.received) | \(ping.lost) | \(ping.inFlightAtStop) | \(ping.duplicates) | \(String(format: "%.1f", ping.maxGapMs)) ms | \(String(format: "%.3f", ping.rttP50Ms)) ms | \(String(format: "%.3f", ping.rttP99Ms)) ms | \(String(format: "%.3f", ping.rttMaxMs)) ms | \(String(format: "%.0f", ping.measuredRatePerSecond))/s (nominal every \(ping.nominalIntervalMs) ms) |")
        if let ping6 = report.ping6 {
            lines.append("")
            lines.append("`ping -6`: \(ping6.sent) sent, \(ping6.received) received, \(ping6.lost) lost, longest gap \(String(format: "%.1f", ping6.maxGapMs)) ms, RTT p50 \(String(format: "%.3f", ping6.rttP50Ms)) ms.")
        }
        let udp = report.udpCounter
        lines.append("")
        lines.append("## UDP counter (kept in guest memory)")
        lines.append("")
        lines.append("Before: \(udp.before.map(String.init) ?? "-"), after: \(udp.after.map(String.init) ?? "-"), \(udp.received) of \(udp.sent) replies, \(udp.monotonic ? "always increasing" : "went backwards \(udp.backwardsSteps) times").")
        if let tcp = report.tcp {
            lines.append("")
            lines.append("## TCP sessions (an echo connection and a download, kept open across the move)")
            lines.append("")
            lines.append(TCPProbeText.summary(tcp, from: "client", to: report.vm).split(separator: "\n").map { "- \($0)" }.joined(separator: "\n"))
        }
        lines.append("")
        lines.append("## Captures")
        lines.append("")
        lines.append("- production segment: `\(report.captures.pswitch)` — try the display filters `rarp`, `arp || icmp`")
        lines.append("- vMotion segment: `\(report.captures.vmotion)` — try `tcp.port == 8000`, with TCP 8000 decoded as data (`tshark -d tcp.port==8000,data`; payloads cut by the snaplen, AES-GCM unless disabled)")
        if let migration = report.captures.migration {
            lines.append("- both segments in one file, the migration's events as packet comments: `\(migration)` — try `frame.comment`, and Statistics → Capture File Properties → Packet Comments")
        }
        lines.append("")
        lines.append("Open them with `wireshark FILE` or `tshark -r FILE -Y rarp`.")
        return lines.joined(separator: "\n") + "\n"
    }
}
