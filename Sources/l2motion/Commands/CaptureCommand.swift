import ArgumentParser
import Foundation
import L2Control
import L2Edge
import L2Lab
#if canImport(Glibc)
import Glibc
#endif

/// `l2motion capture SWITCH [--port P]`: a running switch's capture, live, as pcapng on stdout.
struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Stream a running switch's capture live as pcapng to stdout (pipe it into Wireshark or tshark).",
        discussion: """
            l2motion capture pswitch | wireshark -k -i -
            l2motion capture pswitch --port esx02 | tshark -i - -Y 'arp.opcode == 3'
            The stream starts with the switch's interfaces and carries, from that moment, the records and
            comments the capture file gets (of one port with --port). A reader that falls behind loses
            records, counted on the next record it gets (tshark: frame.drop_count); the switch never waits.
            It ends when the reader goes away or the switch stops.
            """)

    @OptionGroup var target: SwitchTarget

    @Option(help: "Only this port's records (the other ports still appear as interfaces).")
    var port: String?

    func run() throws {
        guard isatty(STDOUT_FILENO) == 0 else {
            throw UserFacingError("capture writes pcapng to stdout: pipe it into `wireshark -k -i -` or `tshark -i -`, or redirect it to a file")
        }
        try LabAccess.require()
        signal(SIGPIPE, SIG_IGN)  // a reader that goes away ends the capture (EPIPE), it does not kill it
        let stream = try ControlClient.openStream(target.path, SwitchCall.captureStream(port: port))
        do {
            try stream.copy(to: OwnedDescriptor(taking: dup(STDOUT_FILENO)))
        } catch {
            throw UserFacingError("capture of \(target.name) stopped: \(error)")
        }
    }
}
