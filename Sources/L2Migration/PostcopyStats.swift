/// Post-copy's figures: the destination's page requests (QEMU's `postcopy-requests`), the pages and
/// bytes that went out after the switchover, how long post-copy lasted, how often the link paused it,
/// and how long the VM waited for a page it touched (fault latency, from the destination).
public struct PostcopyStats: Codable, Sendable, Equatable {
    /// `page-request` messages the destination sent.
    public var requests = 0
    /// Pages those requests named.
    public var requestedPages = 0
    /// Requested pages already on their way (sent before the request arrived): not sent again.
    public var requestedAlreadySent = 0
    /// Pages sent after the switchover (requested and pushed).
    public var pages = 0
    /// Bytes sent after the switchover.
    public var bytes = 0
    /// From the post-copy switchover to the destination's proof (ms).
    public var durationMs: Double?
    /// Wall-clock ns of the post-copy switchover (the VM's state sent) and of the proof.
    public var startedAt: UInt64?
    public var endedAt: UInt64?
    /// Times the link failed during post-copy (`postcopy-paused`), and the pauses' total length (ms).
    public var pauses = 0
    public var pausedMs: Double = 0
    /// Destination side: faults the VM waited on, and the wait p50 / p99 / max (ms).
    public var faults: Int?
    public var faultLatencyP50Ms: Double?
    public var faultLatencyP99Ms: Double?
    public var faultLatencyMaxMs: Double?
    /// Destination side: pages that arrived twice (the second copy is dropped, never stored over a
    /// page the VM may have written).
    public var duplicatePages: Int?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case requests = "postcopy-requests"
        case requestedPages = "requested-pages"
        case requestedAlreadySent = "requested-already-sent"
        case pages, bytes, pauses, faults
        case durationMs = "duration-ms"
        case startedAt = "started-at-ns"
        case endedAt = "ended-at-ns"
        case pausedMs = "paused-ms"
        case faultLatencyP50Ms = "fault-latency-p50-ms"
        case faultLatencyP99Ms = "fault-latency-p99-ms"
        case faultLatencyMaxMs = "fault-latency-max-ms"
        case duplicatePages = "duplicate-pages"
    }
}
