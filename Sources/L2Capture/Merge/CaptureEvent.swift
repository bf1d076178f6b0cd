/// A moment worth a comment in a merged capture (a migration's pre-copy start, a round, the stun,
/// an announce …): its wall-clock time, its text, and either the frame that *is* the event or the
/// switch whose frames it belongs with.
public struct CaptureEvent: Sendable, Hashable {
    /// A frame in one switch's own capture: the switch's name and the frame's number in that file
    /// (1-based, as Wireshark numbers it and as the switch reports it in its events).
    public struct Anchor: Sendable, Hashable {
        public var switchName: String
        public var frame: UInt64

        public init(switchName: String, frame: UInt64) {
            self.switchName = switchName
            self.frame = frame
        }
    }

    /// CLOCK_REALTIME, nanoseconds (the clock the switches stamp frames with).
    public var wallNanoseconds: UInt64
    /// The comment, e.g. "announce 2/5 for web01".
    public var text: String
    /// The frame that is the event (a RARP, the frame that moved the station); nil: placed by time.
    public var anchor: Anchor?
    /// For an event placed by time: the switch whose frames it is told on (the vMotion segment for a
    /// pre-copy round); nil, or a switch with no frames: any switch's.
    public var preferredSwitch: String?

    public init(wallNanoseconds: UInt64, text: String, anchor: Anchor? = nil, preferredSwitch: String? = nil) {
        self.wallNanoseconds = wallNanoseconds
        self.text = text
        self.anchor = anchor
        self.preferredSwitch = preferredSwitch
    }
}

/// Where a merge put one event's comment.
public struct EventPlacement: Sendable, Hashable {
    public enum Method: String, Sendable, Hashable {
        /// On the frame the event named.
        case anchored
        /// On the first frame at or after the event's time (or the last frame, if none is later).
        case byTime
        /// The named frame is not in the capture: placed by time instead.
        case anchorMissing
        /// The captures hold no frame at all: the comment is nowhere.
        case unplaced
    }

    public var event: CaptureEvent
    /// The frame's number in the merged file (1-based); nil when `unplaced`.
    public var frame: UInt64?
    public var method: Method

    public init(event: CaptureEvent, frame: UInt64?, method: Method) {
        self.event = event
        self.frame = frame
        self.method = method
    }
}
