import Foundation

/// The TCP probe's findings as text lines, for `tcp-test` and the demo.
public enum TCPProbeText {
    public static func summary(_ report: TCPProbeReport, from client: String, to target: String) -> String {
        var lines: [String] = []
        if let echo = report.echo {
            lines.append(String(format: "tcp echo %@ → %@: %d requests, %d replies, %d wrong, longest stall %.1f ms, RTT p50 %.3f ms%@",
                                client, target, echo.sent, echo.received, echo.mismatched, echo.longestStallMs, echo.rttP50Ms,
                                echo.failure.map { ", ended early: \($0)" } ?? ""))
        }
        if let download = report.download {
            lines.append(String(format: "tcp download %@ → %@: %@, %llu of %llu bytes, %@, longest gap %.1f ms, %.1f Mbit/s",
                                target, client, download.outcome, download.received, download.expected,
                                download.mismatchAt.map { "byte \($0) wrong" } ?? "every byte in order", download.longestGapMs,
                                download.megabitsPerSecond))
        }
        if let capture = report.capture {
            lines.append("capture (\(capture.file)): \(capture.retransmissions) retransmissions, \(capture.resets) resets, \(capture.malformed) malformed")
        }
        return lines.joined(separator: "\n")
    }
}
