import Foundation

/// Draws a demo's timeline as SVG: ping RTT over time with the pre-copy, the stun and the announces
/// marked (and any dropped by a fault), the switch's relearn instant, every station-move conflict,
/// the bytes of each pre-copy round, and each stun's phases.
/// Labels over the plot never overlap (`LabelRows`). Pure: report in, text out.
public enum TimelineSVG {
    /// Estimated width of one character of an 11-pixel label.
    static let labelCharacterWidth = 6.2
    /// A station-move conflict (another port sent the VM's MAC) and an announce a fault dropped.
    static let conflictColor = "#dc2626"
    static let droppedColor = "#9ca3af"
    /// The colours of the downtime's phases, in their order.
    static let phaseColors = ["freeze": "#fde68a", "state-capture": "#fcd34d", "final-pages": "#fb923c",
                              "transfer": "#f87171", "verification": "#c084fc", "resume": "#34d399"]

    public static func render(_ report: DemoReport) -> String {
        let width = 960.0, plotLeft = 70.0, plotRight = 930.0
        let rttTop = 40.0, rttBottom = 300.0, barTop = 360.0, barBottom = 500.0, phaseTop = 545.0
        let replies = report.ping.replies
        let start = min(replies.first?.atNs ?? report.startedAtNs, report.startedAtNs)
        let migrations = [report.migration] + (report.back.map { [$0] } ?? [])
        let end = max(replies.last?.atNs ?? start, migrations.compactMap(\.resumedAt).max() ?? start) + 200_000_000
        let span = Double(max(end - start, 1))
        func x(_ ns: UInt64) -> Double { plotLeft + (plotRight - plotLeft) * Double(Int64(bitPattern: ns &- start)) / span }
        let maxRTT = max(replies.map(\.rttMs).max() ?? 1, 1)
        let scale = niceCeiling(maxRTT)
        func y(_ rtt: Double) -> Double { rttBottom - (rttBottom - rttTop) * min(rtt, scale) / scale }

        let height = Int(phaseTop) + 46 * migrations.count + 10
        var labels = LabelRows(characterWidth: labelCharacterWidth)
        func label(_ x: Double, _ text: String, color: String = "black") -> String {
            let row = labels.place(x: x, text: text)
            return "<text x=\"\(f(x))\" y=\"\(f(rttTop + 12 + 14 * Double(row)))\" font-size=\"11\" fill=\"\(color)\">\(escape(text))</text>\n"
        }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(height)" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(plotLeft)" y="22" font-size="15" font-weight="bold">\(escape(report.vm)): ping RTT during live migration (lab \(escape(report.lab)))</text>

            """
        for migration in migrations {
            let total = migration.result.totalTime
            if let stun = migration.stunAt {
                // (Post-copy's total runs past the stun: the pre-copy start comes from its own stamp.)
                let precopyStart = migration.result.precopyStartedAt.map { min($0, stun) }
                    ?? stun &- UInt64(max(total - (migration.result.downtime ?? 0), 0) * 1e6)
                let precopy = "pre-copy \(migration.source) → \(migration.destination)"
                svg += rect(x(precopyStart), rttTop, x(stun) - x(precopyStart), rttBottom - rttTop, "#dbeafe", precopy)
                svg += label(x(precopyStart) + 3, precopy)
                if let resumed = migration.resumedAt {
                    if let postcopy = migration.result.postcopy, let ended = postcopy.endedAt, ended > resumed {
                        let text = "postcopy-active: \(postcopy.requests) postcopy-requests" + (postcopy.faultLatencyP99Ms.map { String(format: ", fault p99 %.2f ms", $0) } ?? "")
                        svg += rect(x(resumed), rttTop, x(ended) - x(resumed), rttBottom - rttTop, "#fde68a", text)
                        svg += label(x(resumed) + 3, text, color: "#92400e")
                    }
                    let stunText = String(format: "stun %.2f ms", migration.result.downtime ?? 0)
                    svg += rect(x(stun), rttTop, max(x(resumed) - x(stun), 1.5), rttBottom - rttTop, "#fca5a5", stunText)
                    svg += label(x(stun) + 3, stunText)
                    for offset in migration.announce {
                        let at = resumed &+ UInt64(max(offset, 0) * 1e6)
                        svg += "<line x1=\"\(f(x(at)))\" y1=\"\(rttTop)\" x2=\"\(f(x(at)))\" y2=\"\(rttBottom)\" stroke=\"#16a34a\" stroke-dasharray=\"3,3\"/>\n"
                    }
                    for offset in migration.announceDropped {
                        let at = resumed &+ UInt64(max(offset, 0) * 1e6)
                        svg += "<line x1=\"\(f(x(at)))\" y1=\"\(rttTop)\" x2=\"\(f(x(at)))\" y2=\"\(rttBottom)\" stroke=\"\(droppedColor)\" stroke-dasharray=\"1,4\"/>\n"
                    }
                    if let relearn = migration.relearnMs {
                        let at = resumed &+ UInt64(max(relearn, 0) * 1e6)
                        let how = migration.relearnByAnnounce == false ? " by frame \(migration.relearnFrame.map(String.init) ?? "-"), not an announce" : ""
                        svg += "<line x1=\"\(f(x(at)))\" y1=\"\(rttTop - 6)\" x2=\"\(f(x(at)))\" y2=\"\(rttBottom)\" stroke=\"#7c3aed\" stroke-width=\"2\"/>\n"
                        svg += label(x(at) + 4, "relearn +\(String(format: "%.2f", relearn)) ms\(how)", color: "#7c3aed")
                    }
                    for conflict in migration.stationConflicts {
                        let at = conflict.timeNs
                        svg += "<line x1=\"\(f(x(at)))\" y1=\"\(rttTop - 6)\" x2=\"\(f(x(at)))\" y2=\"\(rttBottom)\" stroke=\"\(conflictColor)\" stroke-width=\"2\"><title>\(escape(RelearnText.conflict(conflict, vm: migration.vm)))</title></line>\n"
                        svg += label(x(at) + 4, "conflict: \(conflict.to.owned), frame \(conflict.frame)", color: conflictColor)
                    }
                }
            }
        }
        svg += "<line x1=\"\(plotLeft)\" y1=\"\(rttBottom)\" x2=\"\(plotRight)\" y2=\"\(rttBottom)\" stroke=\"black\"/>\n"
        svg += "<line x1=\"\(plotLeft)\" y1=\"\(rttTop)\" x2=\"\(plotLeft)\" y2=\"\(rttBottom)\" stroke=\"black\"/>\n"
        for tick in 0...4 {
            let value = scale * Double(tick) / 4
            svg += "<text x=\"\(plotLeft - 8)\" y=\"\(f(y(value) + 4))\" text-anchor=\"end\">\(String(format: value < 10 ? "%.1f" : "%.0f", value))</text>\n"
        }
        svg += "<text x=\"16\" y=\"\(f((rttTop + rttBottom) / 2))\" transform=\"rotate(-90 16 \(f((rttTop + rttBottom) / 2)))\" text-anchor=\"middle\">RTT (ms)</text>\n"
        let seconds = span / 1e9
        let step = seconds > 20 ? 5.0 : seconds > 8 ? 2.0 : seconds > 3 ? 1.0 : 0.5
        var t = 0.0
        while t <= seconds {
            let px = plotLeft + (plotRight - plotLeft) * t / seconds
            svg += "<text x=\"\(f(px))\" y=\"\(rttBottom + 16)\" text-anchor=\"middle\">\(String(format: "%.1f s", t))</text>\n"
            t += step
        }
        svg += "<polyline fill=\"none\" stroke=\"#1d4ed8\" stroke-width=\"1\" points=\""
        svg += replies.map { "\(f(x($0.atNs))),\(f(y($0.rttMs)))" }.joined(separator: " ")
        svg += "\"/>\n"
        for lost in report.ping.lostSequences.prefix(200) {
            svg += "<text x=\"\(plotLeft)\" y=\"\(rttBottom - 4)\" fill=\"red\">lost icmp_seq \(lost)</text>\n"
        }
        if let echo = report.tcp?.echo, echo.stallEndNs > 0, echo.longestStallMs > 0 {
            let end = x(echo.stallEndNs)
            let begin = x(echo.stallEndNs &- UInt64(echo.longestStallMs * 1e6))
            svg += "<rect x=\"\(f(begin))\" y=\"\(f(rttTop))\" width=\"\(f(max(end - begin, 1.5)))\" height=\"\(f(rttBottom - rttTop))\" fill=\"#f59e0b\" fill-opacity=\"0.35\"/>\n"
            svg += label(begin, String(format: "TCP stall %.1f ms", echo.longestStallMs), color: "#b45309")
        }
        let extra = (migrations.contains { !$0.announceDropped.isEmpty } ? ", grey dots dropped RARP" : "")
            + (migrations.contains { !$0.stationConflicts.isEmpty } ? ", red line station-move conflict" : "")
        svg += String(format: "<text x=\"%@\" y=\"%@\">%d pings, %d lost, longest gap %.1f ms; blue band pre-copy, red stun, green dashes RARP, purple relearn%@</text>\n",
                      f(plotLeft), f(rttBottom + 34), report.ping.sent, report.ping.lost, report.ping.maxGapMs, extra)

        let rounds = migrations.flatMap { migration in migration.result.rounds.map { (migration.destination, $0) } }
        svg += "<text x=\"\(plotLeft)\" y=\"\(barTop - 10)\" font-weight=\"bold\">bytes sent per pre-copy round</text>\n"
        let maxBytes = Double(max(rounds.map(\.1.bytes).max() ?? 1, 1))
        let barWidth = min(60.0, (plotRight - plotLeft) / Double(max(rounds.count, 1)) - 8)
        for (index, entry) in rounds.enumerated() {
            let height = max((barBottom - barTop) * Double(entry.1.bytes) / maxBytes, 1)
            let left = plotLeft + Double(index) * (barWidth + 8)
            svg += "<rect x=\"\(f(left))\" y=\"\(f(barBottom - height))\" width=\"\(f(barWidth))\" height=\"\(f(height))\" fill=\"#60a5fa\"/>\n"
            svg += "<text x=\"\(f(left + barWidth / 2))\" y=\"\(barBottom + 14)\" text-anchor=\"middle\">r\(entry.1.round)→\(escape(entry.0))</text>\n"
            svg += "<text x=\"\(f(left + barWidth / 2))\" y=\"\(f(barBottom - height - 4))\" text-anchor=\"middle\">\(byteText(entry.1.bytes))</text>\n"
        }
        svg += phases(migrations, top: phaseTop, left: plotLeft, right: plotRight)
        svg += "</svg>\n"
        return svg
    }

    /// Each stun as a bar split into its phases (widths in proportion to their time), with the
    /// phases in words under it.
    static func phases(_ migrations: [MigrationReport], top: Double, left: Double, right: Double) -> String {
        var svg = "<text x=\"\(f(left))\" y=\"\(f(top - 10))\" font-weight=\"bold\">what each stun was spent on</text>\n"
        for (index, migration) in migrations.enumerated() {
            let y = top + 46 * Double(index)
            guard let timeline = migration.result.switchover else { continue }
            let phases = timeline.phases.filter(\.inDowntime)
            let total = phases.reduce(0) { $0 + max($1.milliseconds, 0) }
            var x = left
            for phase in phases where total > 0 {
                let width = (right - left) * max(phase.milliseconds, 0) / total
                let text = "\(SwitchoverText.label(phase.name)) \(String(format: "%.3f", phase.milliseconds)) ms"
                svg += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(width))\" height=\"14\" fill=\"\(phaseColors[phase.name] ?? "#d1d5db")\"><title>\(escape(text))</title></rect>\n"
                x += width
            }
            let words = SwitchoverText.downtime(timeline) ?? "-"
            svg += "<text x=\"\(f(left))\" y=\"\(f(y + 28))\" font-size=\"10\">\(escape("\(migration.source) → \(migration.destination): \(words)"))</text>\n"
        }
        return svg
    }

    static func rect(_ x: Double, _ y: Double, _ width: Double, _ height: Double, _ color: String, _ label: String) -> String {
        "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(max(width, 0)))\" height=\"\(f(height))\" fill=\"\(color)\" opacity=\"0.8\"><title>\(escape(label))</title></rect>\n"
    }

    static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    static func niceCeiling(_ value: Double) -> Double {
        let magnitude = pow(10, floor(log10(value)))
        for factor in [1.0, 2.0, 5.0, 10.0] where factor * magnitude >= value { return factor * magnitude }
        return 10 * magnitude
    }

    static func byteText(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? String(format: "%.1f MiB", Double(bytes) / 1_048_576) : String(format: "%.0f KiB", Double(bytes) / 1024)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
