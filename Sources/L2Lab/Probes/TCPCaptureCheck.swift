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

    /// Runs tshark over `file` for frames at or after `sinceNs` (wall clock) to or from `addresses`.
    public static func findings(file: String, addresses: [String], sinceNs: UInt64 = 0) throws -> TCPCaptureFindings {
        let since = String(format: "%.6f", Double(sinceNs) / 1e9)
        let scope = "\(addressFilter(addresses)) && frame.time_epoch >= \(since)"
        func count(_ filter: String) throws -> Int {
            let output = try CommandRunner.run(["tshark", "-n", "-2", "-r", file, "-R", "!(frame.packet_flags_direction == 2)",
                                                "-Y", "\(scope) && (\(filter))", "-T", "fields", "-e", "frame.number"])
            return output.split(separator: "\n").count
        }
        return TCPCaptureFindings(retransmissions: try count("tcp.analysis.retransmission"),
                                  resets: try count("tcp && tcp.flags.reset == 1"),
                                  malformed: try count("_ws.malformed"), file: file)
    }
}
