import Testing
@testable import L2Lab

/// iputils `ping -D -O -i 0.01 10.10.0.10`, interrupted after five requests: seq 3 unanswered,
/// seq 4 answered twice (the second marked DUP!).
let pingWithLossAndDuplicate = """
    PING 10.10.0.10 (10.10.0.10) 56(84) bytes of data.
    [1795889107.451780] 64 bytes from 10.10.0.10: icmp_seq=1 ttl=64 time=0.280 ms
    [1795889107.461810] 64 bytes from 10.10.0.10: icmp_seq=2 ttl=64 time=0.310 ms
    [1795889107.481500] no answer yet for icmp_seq=3
    [1795889107.482750] 64 bytes from 10.10.0.10: icmp_seq=4 ttl=64 time=1.25 ms
    [1795889107.482960] 64 bytes from 10.10.0.10: icmp_seq=4 ttl=64 time=1.46 ms (DUP!)
    [1795889107.491795] 64 bytes from 10.10.0.10: icmp_seq=5 ttl=64 time=0.295 ms

    --- 10.10.0.10 ping statistics ---
    5 packets transmitted, 4 received, +1 duplicates, 20% packet loss, time 40ms
    rtt min/avg/max/mdev = 0.280/0.533/1.250/0.419 ms
    """

@Suite("PingParser reads iputils ping -D -O output")
struct PingParserTests {
    @Test func countsSentReceivedLostAndDuplicates() {
        let report = PingParser.parse(pingWithLossAndDuplicate, nominalIntervalMs: 10)
        #expect(report.sent == 5)
        #expect(report.received == 4)
        #expect(report.lost == 1)
        #expect(report.lostSequences == [3])
        #expect(report.duplicates == 1)
        #expect(report.inFlightAtStop == 0)
        #expect(report.nominalIntervalMs == 10)
        #expect(report.replies.map(\.sequence) == [1, 2, 4, 5])
        #expect(report.replies.map(\.rttMs) == [0.280, 0.310, 1.25, 0.295])
    }

    @Test func keepsTheMicrosecondTimestampsExactly() {
        let report = PingParser.parse(pingWithLossAndDuplicate, nominalIntervalMs: 10)
        #expect(report.replies.map(\.atNs) == [1_795_889_107_451_780_000, 1_795_889_107_461_810_000,
                                               1_795_889_107_482_750_000, 1_795_889_107_491_795_000])
    }

    @Test func longestGapBetweenRepliesAndItsStart() {
        let report = PingParser.parse(pingWithLossAndDuplicate, nominalIntervalMs: 10)
        // .461810 -> .482750: seq 3 is missing between them.
        #expect(report.maxGapMs == 20.94)
        #expect(report.maxGapStartNs == 1_795_889_107_461_810_000)
    }

    @Test func rttPercentilesAndMaximum() {
        let report = PingParser.parse(pingWithLossAndDuplicate, nominalIntervalMs: 10)
        // Sorted: 0.280 0.295 0.310 1.25 (the DUP! is not a reply). Nearest rank: p50 is the 2nd, p99 the 4th.
        #expect(report.rttP50Ms == 0.295)
        #expect(report.rttP99Ms == 1.25)
        #expect(report.rttMaxMs == 1.25)
    }

    @Test func measuredRateComesFromTheReplies() {
        let report = PingParser.parse(pingWithLossAndDuplicate, nominalIntervalMs: 10)
        // Sequences 1...5 answered 40.015 ms apart: 4 intervals.
        #expect(abs(report.measuredRatePerSecond - 4 / 0.040015) < 1e-6)
    }

    static let stoppedWithLastUnanswered = """
        [1795889200.000300] 64 bytes from 10.10.0.10: icmp_seq=1 ttl=64 time=0.300 ms
        [1795889200.010300] 64 bytes from 10.10.0.10: icmp_seq=2 ttl=64 time=0.300 ms
        [1795889200.020300] 64 bytes from 10.10.0.10: icmp_seq=3 ttl=64 time=0.300 ms
        [1795889200.040000] no answer yet for icmp_seq=4

        --- 10.10.0.10 ping statistics ---
        5 packets transmitted, 3 received, 40% packet loss, time 41ms
        """

    @Test func onlyTheLastUnansweredRequestIsInFlightWhenStopped() {
        let stopped = PingParser.parse(Self.stoppedWithLastUnanswered, nominalIntervalMs: 10, stoppedAtNs: 1_795_889_200_040_100_000)
        #expect(stopped.sent == 5)
        #expect(stopped.lostSequences == [4])
        #expect(stopped.lost == 1)
        #expect(stopped.inFlightAtStop == 1)

        let unstopped = PingParser.parse(Self.stoppedWithLastUnanswered, nominalIntervalMs: 10)
        #expect(unstopped.lostSequences == [4, 5])
        #expect(unstopped.lost == 2)
        #expect(unstopped.inFlightAtStop == 0)
    }

    @Test func noRequestIsInFlightWhenTheLastWasAnswered() {
        let report = PingParser.parse(pingWithLossAndDuplicate, nominalIntervalMs: 10, stoppedAtNs: 1_795_889_107_495_000_000)
        #expect(report.inFlightAtStop == 0)
        #expect(report.lostSequences == [3])
    }

    @Test func withoutASummaryTheHighestSequenceSeenCounts() {
        let text = """
            [1795889300.000250] 64 bytes from 10.10.0.10: icmp_seq=1 ttl=64 time=0.250 ms
            [1795889300.020000] no answer yet for icmp_seq=2
            [1795889300.030000] From 10.10.0.100 icmp_seq=3 Destination Host Unreachable
            [1795889300.040000] no answer yet for icmp_seq=3
            """
        let report = PingParser.parse(text, nominalIntervalMs: 10)
        #expect(report.sent == 3)
        #expect(report.received == 1)
        #expect(report.lostSequences == [2, 3])
        #expect(report.measuredRatePerSecond == 0)
        #expect(report.maxGapMs == 0)
        #expect(report.maxGapStartNs == nil)
    }

    @Test func aLateReplyIsNotLost() {
        let text = """
            [1795889400.000300] 64 bytes from 10.10.0.10: icmp_seq=1 ttl=64 time=0.300 ms
            [1795889400.020000] no answer yet for icmp_seq=2
            [1795889400.020400] 64 bytes from 10.10.0.10: icmp_seq=2 ttl=64 time=10.4 ms
            [1795889400.020500] 64 bytes from 10.10.0.10: icmp_seq=3 ttl=64 time=0.500 ms
            """
        let report = PingParser.parse(text, nominalIntervalMs: 10)
        #expect(report.lostSequences.isEmpty)
        #expect(report.received == 3)
        #expect(report.rttMaxMs == 10.4)
    }

    @Test(arguments: [
        ("1795889107.451780", UInt64(1_795_889_107_451_780_000) as UInt64?),
        ("1795889107", 1_795_889_107_000_000_000),
        ("1.5", 1_500_000_000),
        ("0.000000001", 1),
        ("1.123456789", 1_123_456_789),
        ("1.1234567890", nil),
        ("1.", nil),
        (".5", nil),
        ("1.-5", nil),
        ("+1.5", nil),
        ("abc", nil),
        ("", nil),
        ("99999999999.0", nil),
    ])
    func timestampsParseInIntegers(text: String, expected: UInt64?) {
        #expect(PingParser.nanoseconds(Substring(text)) == expected)
    }

    @Test func linesWithABrokenTimestampAreSkipped() {
        let text = """
            [1795889107.451780] 64 bytes from 10.10.0.10: icmp_seq=1 ttl=64 time=0.280 ms
            [17958891O7.461810] 64 bytes from 10.10.0.10: icmp_seq=2 ttl=64 time=0.310 ms
            """
        let report = PingParser.parse(text, nominalIntervalMs: 10)
        #expect(report.replies.map(\.sequence) == [1])
    }

    @Test func emptyInput() {
        let report = PingParser.parse("", nominalIntervalMs: 20, stoppedAtNs: 1)
        #expect(report == PingReport(sent: 0, received: 0, lost: 0, inFlightAtStop: 0, duplicates: 0, lostSequences: [],
                                     maxGapMs: 0, maxGapStartNs: nil, rttP50Ms: 0, rttP99Ms: 0, rttMaxMs: 0,
                                     nominalIntervalMs: 20, measuredRatePerSecond: 0, replies: []))
    }

    @Test(arguments: [(0.5, 3.0), (0.01, 1.0), (0.99, 5.0), (1.0, 5.0), (0.0, 1.0)])
    func nearestRankPercentile(fraction: Double, expected: Double) {
        #expect(PingParser.percentile([1, 2, 3, 4, 5], fraction) == expected)
    }

    @Test func percentileOfNothingIsZero() {
        #expect(PingParser.percentile([], 0.5) == 0)
    }
}

@Suite("UDPProbeReport reads the counter probe's lines")
struct UDPProbeReportTests {
    @Test func monotonicCounterAcrossAMigration() {
        let text = """
            reply seq=1 counter=5 rtt_us=120 at_ns=1795889107451780000
            reply seq=2 counter=6 rtt_us=131 at_ns=1795889107471780000
            reply seq=4 counter=8 rtt_us=2210 at_ns=1795889107513000000
            reply seq=5 counter=9 rtt_us=118 at_ns=1795889107531780000
            sent count=5 unanswered=1
            """
        let report = UDPProbeReport.parse(text)
        #expect(report == UDPProbeReport(sent: 5, received: 4, before: 5, after: 9, monotonic: true, backwardsSteps: 0))
    }

    @Test func aResetCounterIsABackwardsStep() {
        let text = """
            reply seq=1 counter=41 rtt_us=120 at_ns=1
            reply seq=2 counter=42 rtt_us=120 at_ns=2
            reply seq=3 counter=1 rtt_us=120 at_ns=3
            reply seq=4 counter=2 rtt_us=120 at_ns=4
            reply seq=5 counter=2 rtt_us=120 at_ns=5
            sent count=5 unanswered=0
            """
        let report = UDPProbeReport.parse(text)
        #expect(report.before == 41)
        #expect(report.after == 2)
        #expect(!report.monotonic)
        // 42 -> 1 and the repeated 2 -> 2: a counter must strictly grow.
        #expect(report.backwardsSteps == 2)
    }

    @Test func sentComesFromTheArgumentThenTheSentLineThenTheReplies() {
        let replies = "reply seq=1 counter=5 rtt_us=120 at_ns=1\nreply seq=2 counter=6 rtt_us=120 at_ns=2\n"
        #expect(UDPProbeReport.parse(replies + "sent count=9 unanswered=7", sent: 12).sent == 12)
        #expect(UDPProbeReport.parse(replies + "sent count=9 unanswered=7").sent == 9)
        #expect(UDPProbeReport.parse(replies).sent == 2)
    }

    @Test func emptyOutput() {
        let report = UDPProbeReport.parse("")
        #expect(report == UDPProbeReport(sent: 0, received: 0, before: nil, after: nil, monotonic: true, backwardsSteps: 0))
    }
}
