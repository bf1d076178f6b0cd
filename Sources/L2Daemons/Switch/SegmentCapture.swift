import L2Edge

/// The segment capture: written off the forwarding path by a `CaptureRing` of pcap records, or, when
/// a BPF capture filter is set, by libpcap's writer (which evaluates the filter) on the forwarding
/// thread.
enum SegmentCapture: Sendable {
    case ring(CaptureRing<PcapEncoder>)
    case filtered(PcapWriter)
    /// No capture (benchmarks only: what capturing costs).
    case disabled

    /// Appends one frame; returns its number in the capture, or 0 when the filter rejected it.
    @inline(__always)
    func write(_ frame: UnsafeRawBufferPointer, wallNanoseconds: UInt64, ingressPort: Int) -> UInt64 {
        switch self {
        case let .ring(ring):
            return ring.write(frame, wallNanoseconds: wallNanoseconds, ingressPort: ingressPort)
        case let .filtered(writer):
            return writer.write(frame, wallNanoseconds: wallNanoseconds) ? writer.framesWritten : 0
        case .disabled:
            return 0
        }
    }

    var framesWritten: UInt64 {
        switch self {
        case let .ring(ring): ring.framesWritten
        case let .filtered(writer): writer.framesWritten
        case .disabled: 0
        }
    }

    /// Once a second from the forwarding loop: gets quiet traffic into the file without waiting.
    func periodicFlush() {
        switch self {
        case let .ring(ring): ring.sealIfIdle()
        case let .filtered(writer): writer.flush()
        case .disabled: break
        }
    }

    /// Returns once every frame captured so far is in the file.
    func flush() {
        switch self {
        case let .ring(ring): ring.flush()
        case let .filtered(writer): writer.flush()
        case .disabled: break
        }
    }

    func close() {
        switch self {
        case let .ring(ring): ring.close()
        case let .filtered(writer): writer.close()
        case .disabled: break
        }
    }
}
