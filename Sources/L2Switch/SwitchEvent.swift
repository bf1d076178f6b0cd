import L2Wire

/// Something the switch's learning did that a person or a report wants to see: a station learned,
/// or a station that moved to another port (what a RARP announce after a migration causes).
public struct SwitchEvent: Hashable, Sendable, CustomStringConvertible {
    /// What happened.
    public enum Kind: String, Hashable, Sendable, Codable {
        case learned
        case moved
    }

    /// Position in the switch's event log, from 0; set when the event is logged.
    public var sequence: UInt64
    public var kind: Kind
    /// Monotonic nanoseconds, as passed to the switch with the frame.
    public var time: UInt64
    public var mac: MACAddress
    /// The port the station was on before a move; nil for `learned`.
    public var oldPort: PortID?
    public var newPort: PortID
    /// The frame's number in the segment capture, as given by the caller.
    public var frameNumber: UInt64

    public init(sequence: UInt64 = 0, kind: Kind, time: UInt64, mac: MACAddress, oldPort: PortID?,
                newPort: PortID, frameNumber: UInt64)
    {
        self.sequence = sequence
        self.kind = kind
        self.time = time
        self.mac = mac
        self.oldPort = oldPort
        self.newPort = newPort
        self.frameNumber = frameNumber
    }

    public var description: String {
        switch kind {
        case .learned: "#\(sequence) t=\(time)ns learned \(mac) on \(newPort) (frame \(frameNumber))"
        case .moved: "#\(sequence) t=\(time)ns station move \(mac) \(oldPort.map(String.init(describing:)) ?? "?") -> \(newPort) (frame \(frameNumber))"
        }
    }
}

/// The last `capacity` switch events in a ring, read with a cursor.
///
/// Sequence numbers start at 0 and never repeat. A reader keeps the `next` cursor of each batch and
/// passes it back; if it fell behind by more than the ring holds, the batch says how many it missed.
public struct EventLog: Sendable {
    /// Events read from the log, the cursor to pass next time, and how many were lost to the ring.
    public struct Batch: Hashable, Sendable {
        public var events: [SwitchEvent]
        public var next: UInt64
        public var missed: UInt64
    }

    public static let defaultCapacity = 1024

    public let capacity: Int
    private var ring: [SwitchEvent] = []
    /// Sequence number the next event gets; also the total ever logged.
    public private(set) var nextSequence: UInt64 = 0

    public init(capacity: Int = EventLog.defaultCapacity) {
        precondition(capacity >= 1, "event log capacity must be at least 1, got \(capacity)")
        self.capacity = capacity
        ring.reserveCapacity(capacity)  // logging never allocates on the frame path
    }

    /// Sequence number of the oldest event still held (equals `nextSequence` when empty).
    public var oldestSequence: UInt64 { nextSequence - UInt64(ring.count) }

    /// Events currently held.
    public var count: Int { ring.count }

    /// Logs `event`, giving it the next sequence number; returns it as logged.
    @discardableResult
    public mutating func append(_ event: SwitchEvent) -> SwitchEvent {
        var event = event
        event.sequence = nextSequence
        if ring.count < capacity {
            ring.append(event)
        } else {
            ring[Int(nextSequence % UInt64(capacity))] = event
        }
        nextSequence += 1
        return event
    }

    /// Events with sequence ≥ `cursor` still held, oldest first. Start with cursor 0. A cursor
    /// beyond `nextSequence` (from an earlier incarnation of the log) is reset to it.
    public func events(since cursor: UInt64) -> Batch {
        let first = max(cursor, oldestSequence)
        let missed = first > cursor ? first - cursor : 0
        guard first < nextSequence else { return Batch(events: [], next: nextSequence, missed: missed) }
        var events: [SwitchEvent] = []
        events.reserveCapacity(Int(nextSequence - first))
        for sequence in first..<nextSequence {
            events.append(ring[Int(sequence % UInt64(capacity))])
        }
        return Batch(events: events, next: nextSequence, missed: missed)
    }
}
