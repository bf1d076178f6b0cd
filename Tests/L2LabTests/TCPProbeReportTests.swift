import Testing
@testable import L2Lab

/// `l2motion tcp-probe` output across a migration: the echo connection's longest round trip is the
/// stun, the download was stopped by the test after 12 MB, every byte right.
let tcpProbeAcrossMigration = """
    echo connected at_ns=1795889107000000000
    download connected at_ns=1795889107000100000
    echo seq=1 rtt_us=310 at_ns=1795889107000400000
    download header status=200 at_ns=1795889107000500000
    echo seq=2 rtt_us=290 at_ns=1795889107020400000
    echo seq=3 rtt_us=5310 at_ns=1795889107045400000
    echo seq=4 rtt_us=300 at_ns=1795889107060400000
    echo done sent=4 received=4 mismatched=0
    download done outcome=stopped bytes=12000000 expected=1099511627776 mismatch_at=-1 longest_gap_us=5600 gap_end_ns=1795889107045600000 mbit_s=64.0
    """

@Suite("TCPProbeReport reads the TCP probe's lines and says whether the sessions survived")
struct TCPProbeReportTests {
    @Test func readsTheEchoStallAndTheDownload() throws {
        let report = TCPProbeReport.parse(tcpProbeAcrossMigration)
        let echo = try #require(report.echo)
        #expect(echo.sent == 4 && echo.received == 4 && echo.mismatched == 0 && echo.failure == nil)
        #expect(echo.longestStallMs == 5.31)
        #expect(echo.stallEndNs == 1_795_889_107_045_400_000)
        #expect(echo.rttP50Ms == 0.31)
        let download = try #require(report.download)
        #expect(download.outcome == "stopped" && download.received == 12_000_000 && download.mismatchAt == nil)
        #expect(download.longestGapMs == 5.6 && download.megabitsPerSecond == 64)
        #expect(report.problems.isEmpty, "\(report.problems)")
    }

    @Test func aResetAWrongByteOrAResetInTheCaptureIsAProblem() {
        let reset = TCPProbeReport.parse("""
            echo seq=1 rtt_us=310 at_ns=1
            echo reset at_ns=2 message=read:_Connection_reset_by_peer
            echo done sent=2 received=1 mismatched=0
            download done outcome=complete bytes=100 expected=100 mismatch_at=42 longest_gap_us=1 gap_end_ns=3 mbit_s=1.0
            """)
        #expect(reset.echo?.failure == "reset")
        #expect(reset.download?.mismatchAt == 42)
        #expect(reset.problems.count == 2, "\(reset.problems)")
        var clean = TCPProbeReport.parse(tcpProbeAcrossMigration)
        clean.capture = TCPCaptureFindings(retransmissions: 3, resets: 1, malformed: 0, file: "x.pcapng")
        #expect(clean.problems == ["1 TCP reset from or to the VM in the capture"])
        let nothing = TCPProbeReport.parse("download done outcome=stopped bytes=0 expected=10 mismatch_at=-1 longest_gap_us=0 gap_end_ns=0 mbit_s=0.0")
        #expect(nothing.problems == ["the download received nothing before it was stopped"])
    }

    @Test func theSummaryNamesStallGapAndCapture() {
        var report = TCPProbeReport.parse(tcpProbeAcrossMigration)
        report.capture = TCPCaptureFindings(retransmissions: 2, resets: 0, malformed: 0, file: "pswitch.pcapng")
        let text = TCPProbeText.summary(report, from: "client01", to: "web01 10.10.0.10")
        #expect(text.contains("4 requests, 4 replies, 0 wrong, longest stall 5.3 ms"))
        #expect(text.contains("stopped, 12000000 of 1099511627776 bytes, every byte in order, longest gap 5.6 ms"))
        #expect(text.contains("2 retransmissions, 0 resets, 0 malformed"))
    }

    @Test func theCaptureFilterNamesBothFamilies() {
        #expect(TCPCaptureCheck.addressFilter(["10.10.0.10", "fd00:10:10::10"]) == "(ip.addr == 10.10.0.10 || ipv6.addr == fd00:10:10::10)")
    }
}
