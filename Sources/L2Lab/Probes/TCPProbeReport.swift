/// What the TCP continuity probe found: whether both connections survived (no reset, no byte wrong,
/// the download complete) and how long TCP stalled, plus what the capture shows.
public struct TCPProbeReport: Codable, Sendable, Equatable {
    /// The long-lived request/response connection to the echo service.
    public struct Echo: Codable, Sendable, Equatable {
        public var sent = 0
        public var received = 0
        public var mismatched = 0
        /// "reset", "error" or "closed" if the connection ended early; nil when it ran to the end.
        public var failure: String?
        /// The longest request/response time, milliseconds: the stall a migration causes.
        public var longestStallMs = 0.0
        /// Wall-clock time the longest stall ended (ns since the epoch), for the timeline.
        public var stallEndNs: UInt64 = 0
        public var rttP50Ms = 0.0
        public init() {}
    }

    /// The bulk download of `GET /bytes/N`.
    public struct Download: Codable, Sendable, Equatable {
        public var expected: UInt64 = 0
        public var received: UInt64 = 0
        /// "complete", "stopped" (told to stop first: fine), "incomplete", "reset", "error", "closed",
        /// "refused" or "overrun".
        public var outcome = "incomplete"
        /// The stream offset of the first wrong byte, if any.
        public var mismatchAt: UInt64?
        public var longestGapMs = 0.0
        public var gapEndNs: UInt64 = 0
        public var megabitsPerSecond = 0.0
        public init() {}
    }

    public var echo: Echo?
    public var download: Download?
    /// From the capture (tshark), counted by whoever ran the probe; nil when not looked at.
    public var capture: TCPCaptureFindings?

    public init(echo: Echo? = nil, download: Download? = nil, capture: TCPCaptureFindings? = nil) {
        self.echo = echo
        self.download = download
        self.capture = capture
    }

    /// Why the TCP sessions did not survive (empty when they did): a reset, a wrong or missing byte,
    /// an echo connection that ended early.
    public var problems: [String] {
        var problems: [String] = []
        if let echo {
            if let failure = echo.failure { problems.append("the echo connection ended early (\(failure)) after \(echo.received) replies") }
            if echo.mismatched > 0 { problems.append("\(echo.mismatched) echo replies had wrong bytes") }
            if echo.received == 0 { problems.append("the echo connection got no reply at all") }
        }
        if let download {
            if download.outcome == "stopped" && download.received == 0 {
                problems.append("the download received nothing before it was stopped")
            } else if download.outcome != "complete" && download.outcome != "stopped" {
                problems.append("the download ended \(download.outcome) after \(download.received) of \(download.expected) bytes")
            }
            if let at = download.mismatchAt { problems.append("the download's byte \(at) differs from the pattern") }
        }
        if let capture, capture.resets > 0 { problems.append("\(capture.resets) TCP reset\(capture.resets == 1 ? "" : "s") from or to the VM in the capture") }
        return problems
    }

    /// Reads the probe's lines (`echo seq=…`, `echo done …`, `download done …`).
    public static func parse(_ text: String) -> TCPProbeReport {
        var echo: Echo?
        var download: Download?
        var rtts: [Double] = []
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard let kind = words.first else { continue }
            let fields = Dictionary(words.compactMap { part -> (String, String)? in
                let pair = part.split(separator: "=", maxSplits: 1)
                return pair.count == 2 ? (String(pair[0]), String(pair[1])) : nil
            }, uniquingKeysWith: { first, _ in first })
            let verb = words.count > 1 ? String(words[1]) : ""
            if kind == "echo" {
                var value = echo ?? Echo()
                if let rtt = fields["rtt_us"].flatMap(Double.init) {
                    let ms = rtt / 1_000
                    rtts.append(ms)
                    if ms > value.longestStallMs {
                        value.longestStallMs = ms
                        value.stallEndNs = fields["at_ns"].flatMap { UInt64($0) } ?? 0
                    }
                } else if ["reset", "error", "closed"].contains(verb) {
                    value.failure = verb
                } else if verb == "done" {
                    value.sent = fields["sent"].flatMap { Int($0) } ?? value.sent
                    value.received = fields["received"].flatMap { Int($0) } ?? value.received
                    value.mismatched = fields["mismatched"].flatMap { Int($0) } ?? value.mismatched
                }
                echo = value
            } else if kind == "download" {
                var value = download ?? Download()
                if verb == "done" {
                    value.outcome = fields["outcome"] ?? value.outcome
                    value.received = fields["bytes"].flatMap { UInt64($0) } ?? 0
                    value.expected = fields["expected"].flatMap { UInt64($0) } ?? 0
                    value.mismatchAt = fields["mismatch_at"].flatMap { Int64($0) }.flatMap { $0 >= 0 ? UInt64($0) : nil }
                    value.longestGapMs = (fields["longest_gap_us"].flatMap(Double.init) ?? 0) / 1_000
                    value.gapEndNs = fields["gap_end_ns"].flatMap { UInt64($0) } ?? 0
                    value.megabitsPerSecond = fields["mbit_s"].flatMap(Double.init) ?? 0
                }
                download = value
            }
        }
        if var value = echo, !rtts.isEmpty {
            value.rttP50Ms = rtts.sorted()[rtts.count / 2]
            echo = value
        }
        return TCPProbeReport(echo: echo, download: download)
    }
}

/// What tshark finds in a capture about the VM's TCP: retransmissions, resets, malformed frames.
public struct TCPCaptureFindings: Codable, Sendable, Equatable {
    /// Segments tshark marks `tcp.analysis.retransmission` (either direction).
    public var retransmissions: Int
    /// Segments with RST set from or to the VM.
    public var resets: Int
    /// Frames tshark calls malformed (`_ws.malformed`) from or to the VM.
    public var malformed: Int
    /// The capture file read.
    public var file: String

    public init(retransmissions: Int, resets: Int, malformed: Int, file: String) {
        self.retransmissions = retransmissions
        self.resets = resets
        self.malformed = malformed
        self.file = file
    }
}
