import L2Capture
import L2Edge

/// The segment capture: a `CaptureRing` of pcapng or pcap records written off the forwarding path,
/// with libpcap's BPF filter deciding which frames it keeps when a capture filter is set.
enum SegmentCapture: Sendable {
    case ring(CaptureRing<FileEncoder>, filter: PacketFilter?)
    /// No capture (benchmarks only: what capturing costs).
    case disabled

    var ring: CaptureRing<FileEncoder>? {
        if case let .ring(ring, _) = self { ring } else { nil }
    }

    var filter: PacketFilter? {
        if case let .ring(_, filter) = self { filter } else { nil }
    }

    var framesWritten: UInt64 { ring?.framesWritten ?? 0 }

    /// Once a second from the forwarding loop: gets quiet traffic into the file without waiting.
    func periodicFlush() { ring?.sealIfIdle() }

    /// Returns once every frame captured so far is in the file.
    func flush() { ring?.flush() }

    /// Ends the file with `statistics` (pcapng: a statistics block per port) and closes it.
    func close(statistics: [CaptureStatistics], wallNanoseconds: UInt64) {
        ring?.close(statistics: statistics, wallNanoseconds: wallNanoseconds)
    }
}
