import Foundation
import L2Edge

/// Counts, with tshark, what a capture shows about a VM's TCP since a moment: retransmissions
/// (`tcp.analysis.retransmission`), resets (`tcp.flags.reset`) and malformed frames from or to the
/// VM. Only inbound records count: in a capture that also has egress records (pcapng direction
/// flag outbound) every frame would otherwise appear twice and look retransmitted.
public enum TCPCaptureCheck {
    /// The display filter naming the VM's addresses (`ip.addr == …` or `ipv6.addr == …`).
    static func addressFilter(_ addresses: [String]) -> String {
        "(" + addresses.map { $0.contains(":") ? "ipv6.addr == \($0)" : "ip.addr == \($0)" }.joined(separator: " || ") + ")"
    }

    /// Runs tshark over `file` for frames from `sinceNs` up to `untilNs` (wall clock; the moment the
    /// probe was told to stop: a client closing a socket with unread data resets it, and that reset is
    /// the client's, not the migration's) to or from `addresses`.
    public static func findings(file: String, addresses: [String], sinceNs: UInt64 = 0, untilNs: UInt64 = .max) throws -> TCPCaptureFindings {
        let since = String(format: "%.6f", Double(sinceNs) / 1e9)
        var filter = "\(addressFilter(addresses)) && frame.time_epoch >= \(since)"
        if untilNs != .max { filter += " && frame.time_epoch <= " + String(format: "%.6f", Double(untilNs) / 1e9) }
        filter += " && (tcp.analysis.retransmission || (tcp && tcp.flags.reset == 1) || _ws.malformed)"
        // One pass of tshark, TCP analysis only: reassembling HTTP bodies of a large download costs
        // minutes and tells nothing about retransmissions or resets.
        let output = try CommandRunner.run(["tshark", "-n", "-2", "-o", "tcp.desegment_tcp_streams:FALSE", "--disable-protocol", "http",
                                            "-r", file, "-R", "!(frame.packet_flags_direction == 2)", "-Y", filter,
                                            "-T", "fields", "-E", "separator=|", "-e", "tcp.analysis.retransmission",
                                            "-e", "tcp.flags.reset", "-e", "_ws.malformed"])
        var findings = TCPCaptureFindings(retransmissions: 0, resets: 0, malformed: 0, file: file)
        for line in output.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if fields.count > 0, !fields[0].isEmpty { findings.retransmissions += 1 }
            if fields.count > 1, ["1", "True", "true"].contains(fields[1]) { findings.resets += 1 }
            if fields.count > 2, !fields[2].isEmpty { findings.malformed += 1 }
        }
        return findings
    }
}
