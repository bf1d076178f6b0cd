/// The stack's fixed timing and sizing choices. Times are guest-clock nanoseconds.
enum TCPTuning {
    static let millisecond: UInt64 = 1_000_000
    static let second: UInt64 = 1_000_000_000

    /// RFC 6298 initial RTO.
    static let initialRTO: UInt64 = second
    /// Linux's `TCP_RTO_MIN`: a migration stall shows the same 200 ms floor on both sides.
    static let minimumRTO: UInt64 = 200 * millisecond
    /// RFC 6298 allows a 60 s upper bound; Linux uses 120 s. 60 s keeps the backoff observable.
    static let maximumRTO: UInt64 = 60 * second
    /// RTO expiries in a row before the connection is given up (Linux `tcp_retries2` = 15).
    static let maximumRetransmissions: UInt32 = 15
    /// SYN-ACK retransmissions before a half-open connection is dropped (Linux `tcp_synack_retries`).
    static let maximumSynAckRetransmissions: UInt32 = 5
    /// TIME-WAIT lasts 2 × MSL. We take MSL = 1 s (Linux holds 60 s): the VM has only
    /// `GuestLayout.maximumTCPSlots` slots, and a TIME-WAIT slot is recycled anyway when a SYN finds
    /// the table full.
    static let timeWait: UInt64 = 2 * second
    /// A delayed ACK waits at most this long (RFC 9293 allows 500 ms; Linux's minimum is 40 ms).
    /// Only a lone, non-pushed, partial segment is ever delayed.
    static let delayedAck: UInt64 = 40 * millisecond
    /// A connection holding a partial request that makes no progress this long is reset (slowloris).
    static let partialRequestTimeout: UInt64 = 60 * second
    /// FIN-WAIT-2 with no progress this long is dropped (Linux `tcp_fin_timeout` = 60 s).
    static let finWait2Timeout: UInt64 = 60 * second
    /// An ESTABLISHED or CLOSE-WAIT connection with no progress at all this long is reset.
    static let idleTimeout: UInt64 = 600 * second

    /// Receive buffer bytes (the most unread input: the window we advertise at most).
    static let receiveBufferBytes = TCPServiceLimits.receiveBuffer
    /// Send ring bytes: unacknowledged plus unsent output.
    static let sendRingBytes = 262_144
    /// Our window-scale shift. 0: the receive buffer (16 KiB) fits the unscaled 16-bit window, so a
    /// larger shift would only round the advertised window down; we still send the option so the
    /// peer's own shift applies (RFC 7323 requires both sides to send it).
    static let receiveShift: UInt8 = 0
    /// Initial congestion window in segments (RFC 6928).
    static let initialWindowSegments: UInt32 = 10
    /// The peer's MSS when its SYN has no MSS option (RFC 9293 3.7.1 / RFC 8200 8.3).
    static let defaultMSSv4: UInt32 = 536
    static let defaultMSSv6: UInt32 = 1220
    /// The most `serve` calls one segment triggers (a service answering without consuming input
    /// must not spin the stack).
    static let maximumServeCalls = 256
}
