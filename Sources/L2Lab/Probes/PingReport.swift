import Foundation

/// Ping continuity read from the real `ping -D -O` output (iputils): what was sent and answered,
/// the longest silence between replies, RTT percentiles, and the send rate actually achieved.
public struct PingReport: Codable, Sendable, Equatable {
    public var sent: Int
    public var received: Int
    public var lost: Int
    /// Requests sent so shortly before ping was stopped that no reply could have come yet (not lost).
    public var inFlightAtStop: Int
    public var duplicates: Int
    public var lostSequences: [Int]
    public var maxGapMs: Double
    /// Reply arrival time (wall clock, ns) at the start of the longest gap.
    public var maxGapStartNs: UInt64?
    public var rttP50Ms: Double
    public var rttP99Ms: Double
    public var rttMaxMs: Double
    public var nominalIntervalMs: Double
    /// Requests per second actually sent, from the reply timestamps (not the nominal interval).
    public var measuredRatePerSecond: Double
    /// (arrival ns, sequence, RTT ms) of each reply, for the timeline.
    public var replies: [Reply]

    public struct Reply: Codable, Sendable, Equatable {
        public var atNs: UInt64
        public var sequence: Int
        public var rttMs: Double
    }

    enum CodingKeys: String, CodingKey {
        case sent, received, lost, duplicates, replies
        case inFlightAtStop = "in_flight_at_stop"
        case lostSequences = "lost_sequences"
        case maxGapMs = "max_gap_ms"
        case maxGapStartNs = "max_gap_start_ns"
        case rttP50Ms = "rtt_p50_ms"
        case rttP99Ms = "rtt_p99_ms"
        case rttMaxMs = "rtt_max_ms"
        case nominalIntervalMs = "nominal_interval_ms"
        case measuredRatePerSecond = "measured_rate_per_second"
    }
}

/// Parses iputils `ping -D -O` output. Pure: text in, report out.
public enum PingParser {
    /// `stoppedAtNs` is when ping was told to stop (wall clock); requests whose reply was not due
    /// yet then count as in flight rather than lost.
    public static func parse(_ text: String, nominalIntervalMs: Double, stoppedAtNs: UInt64? = nil) -> PingReport {
        var replies: [PingReport.Reply] = []
        var seen = Set<Int>()
        var duplicates = 0
        var transmitted: Int?
        var highestSequence = 0
        for line in text.split(separator: "\n") {
            if line.contains("packets transmitted") {
                transmitted = Int(line.split(separator: " ").first ?? "")
                continue
            }
            guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { continue }
            guard let atNs = nanoseconds(line[line.index(after: line.startIndex)..<close]) else { continue }
            guard let sequence = field(line, "icmp_seq=") .flatMap({ Int($0) }) else { continue }
            highestSequence = max(highestSequence, sequence)
            guard line.contains("bytes from"), let rtt = field(line, "time=").flatMap({ Double($0) }) else { continue }
            if line.contains("DUP!") || seen.contains(sequence) {
                duplicates += 1
                continue
            }
            seen.insert(sequence)
            replies.append(PingReport.Reply(atNs: atNs, sequence: sequence, rttMs: rtt))
        }
        let sent = max(transmitted ?? highestSequence, highestSequence)
        var lostSequences = (1...max(sent, 1)).filter { !seen.contains($0) && $0 <= sent }
        // A request sent less than ~one interval before the stop may still be on its way.
        var inFlight = 0
        if stoppedAtNs != nil, let last = lostSequences.last, last == sent {
            lostSequences.removeLast()
            inFlight = 1
        }
        let sorted = replies.sorted { $0.atNs < $1.atNs }
        var maxGap: UInt64 = 0
        var gapStart: UInt64?
        for (previous, next) in zip(sorted, sorted.dropFirst()) where next.atNs - previous.atNs > maxGap {
            maxGap = next.atNs - previous.atNs
            gapStart = previous.atNs
        }
        let rtts = replies.map(\.rttMs).sorted()
        var rate = 0.0
        if let first = sorted.first, let last = sorted.last, last.atNs > first.atNs {
            let bySequence = replies.sorted { $0.sequence < $1.sequence }
            let span = Double(bySequence.last!.sequence - bySequence.first!.sequence)
            let seconds = Double(Int64(bitPattern: bySequence.last!.atNs &- bySequence.first!.atNs)) / 1e9
            rate = seconds > 0 ? span / seconds : 0
        }
        return PingReport(sent: sent, received: seen.count, lost: lostSequences.count, inFlightAtStop: inFlight,
                          duplicates: duplicates, lostSequences: lostSequences, maxGapMs: Double(maxGap) / 1e6,
                          maxGapStartNs: gapStart, rttP50Ms: percentile(rtts, 0.50), rttP99Ms: percentile(rtts, 0.99),
                          rttMaxMs: rtts.last ?? 0, nominalIntervalMs: nominalIntervalMs, measuredRatePerSecond: rate,
                          replies: sorted)
    }

    /// `1795889107.451780` as 1795889107451780000, in integers: a Double keeps only ~16 digits, so
    /// `seconds * 1e9` would be off by up to 256 ns and no longer match the printed microseconds.
    static func nanoseconds(_ stamp: Substring) -> UInt64? {
        let parts = stamp.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        func isDigits(_ text: Substring) -> Bool { !text.isEmpty && text.allSatisfy { $0.isASCII && $0.isNumber } }
        guard isDigits(parts[0]), let seconds = UInt64(parts[0]) else { return nil }
        var fraction: UInt64 = 0
        if parts.count == 2 {
            guard isDigits(parts[1]), parts[1].count <= 9, let digits = UInt64(parts[1]) else { return nil }
            fraction = digits
            for _ in parts[1].count..<9 { fraction *= 10 }
        }
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? nil : whole + fraction
    }

    static func field(_ line: Substring, _ key: String) -> String? {
        guard let range = line.range(of: key) else { return nil }
        let rest = line[range.upperBound...]
        return String(rest.prefix { $0.isNumber || $0 == "." })
    }

    /// Nearest-rank percentile of sorted values (0 when empty).
    public static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
