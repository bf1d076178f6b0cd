import L2Wire

/// One learned station: where a MAC address was last seen as a source in a VLAN, and when.
///
/// Times are nanoseconds on the caller's monotonic clock.
public struct MACTableEntry: Hashable, Sendable, CustomStringConvertible {
    public var mac: MACAddress
    /// The VLAN it was learned in; 0 on VLAN-unaware ports. The same MAC may be learned in several.
    public var vlan: UInt16
    public var port: PortID
    /// When this entry was created (a move keeps it; relearning after expiry resets it).
    public var learnedAt: UInt64
    /// The last time a frame from `mac` arrived on `port`.
    public var lastSeen: UInt64
    /// How many times the station moved to another port since `learnedAt`.
    public var moves: Int
    /// Learned on a port with sticky port security: it never ages.
    public var sticky: Bool

    public init(mac: MACAddress, port: PortID, learnedAt: UInt64, lastSeen: UInt64, moves: Int, vlan: UInt16 = 0,
                sticky: Bool = false) {
        self.mac = mac
        self.vlan = vlan
        self.port = port
        self.learnedAt = learnedAt
        self.lastSeen = lastSeen
        self.moves = moves
        self.sticky = sticky
    }

    /// Nanoseconds since the station was last seen (zero if `now` is earlier).
    public func age(at now: UInt64) -> UInt64 { now > lastSeen ? now - lastSeen : 0 }

    public var description: String {
        "\(mac)" + (vlan == 0 ? "" : " vlan \(vlan)") + " \(port) moves \(moves)" + (sticky ? " sticky" : "")
    }
}

/// What `MACTable.learn` did with a source address.
public enum LearnOutcome: Hashable, Sendable {
    /// Multicast, broadcast or all-zero source: never learned.
    case ignored
    /// Known on this port already; its last-seen time was updated.
    case refreshed
    /// A new entry. `evicted` is the entry removed to make room when the table was full.
    case learned(evicted: MACTableEntry?)
    /// Known on another port: the entry moved on this first frame (no hold-down, or the station was
    /// last seen on its port at least the hold-down ago).
    case moved(from: PortID, to: PortID)
    /// A move, as `moved`, that is the station's `flapMoves`-th within the flap window: it keeps
    /// moving between ports. `moves` moves took `span` nanoseconds. Reported once per window.
    case flapped(from: PortID, to: PortID, moves: Int, span: UInt64)
    /// Known on port `on`, where it was seen less than the hold-down ago: the entry stays there.
    /// `first`: the first refusal since the station was last seen on its port (the one worth an event).
    case moveIgnored(on: PortID, to: PortID, first: Bool)
    /// The port already holds as many addresses as its policy allows: not learned (a port security
    /// violation).
    case limitReached
}

/// What a port allows `MACTable.learn` to do: a limit on its entries, and whether they never age.
public struct LearnPolicy: Hashable, Sendable {
    /// Most entries the port may hold (all VLANs together); 0: no limit.
    public var maximumEntries: Int
    /// Entries learned on the port never age (they stay until flushed or moved).
    public var sticky: Bool

    public init(maximumEntries: Int = 0, sticky: Bool = false) {
        self.maximumEntries = maximumEntries
        self.sticky = sticky
    }

    /// No limit, entries age.
    public static let open = LearnPolicy()
}
