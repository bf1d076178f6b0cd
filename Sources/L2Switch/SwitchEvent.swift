import L2Wire

/// Something the switch's learning did that a person or a report wants to see: a station learned,
/// a station that moved to another port (what a RARP announce after a migration causes), a move the
/// hold-down refused, a station flapping between ports, a port security violation.
public struct SwitchEvent: Hashable, Sendable, CustomStringConvertible {
    /// What happened.
    public enum Kind: String, Hashable, Sendable, Codable, CaseIterable {
        case learned
        case moved
        /// A move the hold-down refused: the station stays on `oldPort`; `newPort` is where it was seen.
        case moveIgnored = "move-ignored"
        /// The station moved between `oldPort` and `newPort` at least flap-moves times within the
        /// flap window; `flap` has the count and rate. One per station per window.
        case flap
        /// A frame from one source address more than `newPort` allows; `action` says what the port did.
        case securityViolation = "security-violation"
    }

    /// How often a flapping station moved.
    public struct FlapRate: Hashable, Sendable {
        /// Moves within the window, counting this one.
        public var moves: Int
        /// Nanoseconds from the window's first move to this one.
        public var span: UInt64

        public init(moves: Int, span: UInt64) {
            self.moves = moves
            self.span = span
        }

        /// Moves per second over the span (a span under a millisecond counts as one).
        public var perSecond: Double { Double(moves) / (Double(max(span, 1_000_000)) / 1e9) }
    }

    /// Position in the switch's event log, from 0; set when the event is logged.
    public var sequence: UInt64
    public var kind: Kind
    /// Monotonic nanoseconds, as passed to the switch with the frame.
    public var time: UInt64
    public var mac: MACAddress
    /// The VLAN the frame belonged to; 0 on VLAN-unaware ports.
    public var vlan: UInt16
    /// The port the station was on before a move (where it stays, for `moveIgnored`); nil for
    /// `learned` and `securityViolation`.
    public var oldPort: PortID?
    public var newPort: PortID
    /// The frame's number in the segment capture, as given by the caller.
    public var frameNumber: UInt64
    /// For `flap`: how many moves, how fast.
    public var flap: FlapRate?
    /// For `securityViolation`: what the port did about it.
    public var action: PortSecurity.Violation?

    public init(sequence: UInt64 = 0, kind: Kind, time: UInt64, mac: MACAddress, oldPort: PortID?,
                newPort: PortID, frameNumber: UInt64, vlan: UInt16 = 0, flap: FlapRate? = nil,
                action: PortSecurity.Violation? = nil)
    {
        self.sequence = sequence
        self.kind = kind
        self.time = time
        self.mac = mac
        self.vlan = vlan
        self.oldPort = oldPort
        self.newPort = newPort
        self.frameNumber = frameNumber
        self.flap = flap
        self.action = action
    }

    public var description: String {
        let old = oldPort.map(String.init(describing:)) ?? "?"
        let station = "\(mac)" + (vlan == 0 ? "" : " vlan \(vlan)")
        let what: String =
            switch kind {
            case .learned: "learned \(station) on \(newPort)"
            case .moved: "station move \(station) \(old) -> \(newPort)"
            case .moveIgnored: "move ignored \(station) stays on \(old), seen on \(newPort) (hold-down)"
            case .flap:
                "flap \(station) between \(old) and \(newPort)"
                    + (flap.map { ": \($0.moves) moves in \(Self.seconds($0.span)) s (\(Self.rate($0.perSecond))/s)" } ?? "")
            case .securityViolation: "security violation \(station) on \(newPort): \(action?.rawValue ?? "drop")"
            }
        return "#\(sequence) t=\(time)ns \(what) (frame \(frameNumber))"
    }

    static func seconds(_ nanoseconds: UInt64) -> String { rate(Double(nanoseconds) / 1e9) }

    /// One decimal place, without Foundation.
    static func rate(_ value: Double) -> String {
        let tenths = (value * 10).rounded()
        guard tenths.isFinite, tenths < 1e15 else { return "\(value)" }
        let whole = Int64(tenths)
        return "\(whole / 10).\(whole % 10)"
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
