/// The UDP counter probe's findings: the VM's counter lives in guest memory, so it must continue
/// across a migration — never reset, never go backwards.
public struct UDPProbeReport: Codable, Sendable, Equatable {
    public var sent: Int
    public var received: Int
    public var before: UInt64?
    public var after: UInt64?
    /// True if every reply's counter is greater than the previous reply's.
    public var monotonic: Bool
    public var backwardsSteps: Int

    /// Parses the probe's output lines `reply seq=N counter=C rtt_us=R`.
    public static func parse(_ text: String, sent: Int? = nil) -> UDPProbeReport {
        var counters: [UInt64] = []
        var requests = 0
        for line in text.split(separator: "\n") {
            let fields = Dictionary(line.split(separator: " ").compactMap { part -> (String, String)? in
                let pair = part.split(separator: "=", maxSplits: 1)
                return pair.count == 2 ? (String(pair[0]), String(pair[1])) : nil
            }, uniquingKeysWith: { first, _ in first })
            if line.hasPrefix("sent"), let value = fields["count"].flatMap({ Int($0) }) { requests = value }
            if line.hasPrefix("reply"), let counter = fields["counter"].flatMap({ UInt64($0) }) { counters.append(counter) }
        }
        let backwards = zip(counters, counters.dropFirst()).filter { $0.1 <= $0.0 }.count
        return UDPProbeReport(sent: sent ?? max(requests, counters.count), received: counters.count, before: counters.first,
                              after: counters.last, monotonic: backwards == 0, backwardsSteps: backwards)
    }
}
