/// Host-side counters of one VM's TCP stack (not guest state: they start at zero on each host).
public struct TCPStatistics: Codable, Hashable, Sendable {
    public var segmentsReceived: UInt64 = 0
    public var segmentsSent: UInt64 = 0
    /// Segments sent again (RTO, fast retransmit, SYN-ACK), each counted once.
    public var retransmissions: UInt64 = 0
    /// RTO expiries (SYN-ACK ones included).
    public var timeouts: UInt64 = 0
    public var fastRetransmits: UInt64 = 0
    public var resetsSent: UInt64 = 0
    public var resetsReceived: UInt64 = 0
    /// RFC 5961 challenge ACKs (a SYN or a not-exact RST inside the window).
    public var challengeAcks: UInt64 = 0
    /// Zero-window probes sent.
    public var persistProbes: UInt64 = 0
    /// Connections that reached ESTABLISHED.
    public var connectionsOpened: UInt64 = 0
    /// Connections whose slot was freed after they were opened (any reason).
    public var connectionsClosed: UInt64 = 0
    /// SYNs to a port with no service (answered with RST).
    public var connectionsRefused: UInt64 = 0
    /// Half-open connections evicted by a SYN that found every slot used.
    public var synEvicted: UInt64 = 0
    /// TIME-WAIT slots reused by a new connection before their 2×MSL ended.
    public var timeWaitRecycled: UInt64 = 0
    /// Half-open connections dropped after their SYN-ACK retransmissions ran out.
    public var synAckTimeouts: UInt64 = 0
    /// Connections reset after `TCPTuning.maximumRetransmissions` RTOs in a row.
    public var retransmissionLimitResets: UInt64 = 0
    /// Connections reset for making no progress (partial request, idle, FIN-WAIT-2).
    public var idleResets: UInt64 = 0
    /// Connections reset because the service waited for input with a full receive buffer, or
    /// queued more output than the send ring holds.
    public var serviceResets: UInt64 = 0

    /// Segments outside the receive window (duplicates included), answered with an ACK and dropped.
    public var droppedOutOfWindow: UInt64 = 0
    /// In-window data that is not next in sequence (we do not reassemble): dropped, duplicate ACK sent.
    public var droppedOutOfOrder: UInt64 = 0
    /// Impossible flag combinations (SYN+FIN, SYN+RST, none, FIN without ACK...) or no ACK in a
    /// synchronized state.
    public var droppedBadFlags: UInt64 = 0
    /// ACKs for data we never sent.
    public var droppedBadAck: UInt64 = 0
    /// SYNs that found every slot used by an open connection.
    public var droppedTableFull: UInt64 = 0
    /// Segments whose TCP checksum was wrong (counted by the VM before the stack sees them).
    public var droppedBadChecksum: UInt64 = 0
    /// Segments that cannot be handled at all (port 0, mixed families, RST for no connection).
    public var droppedInvalid: UInt64 = 0

    public init() {}
}
