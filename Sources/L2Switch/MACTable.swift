import L2Wire

/// One learned station: where a MAC address was last seen as a source, and when.
///
/// Times are nanoseconds on the caller's monotonic clock.
public struct MACTableEntry: Hashable, Sendable, CustomStringConvertible {
    public var mac: MACAddress
    public var port: PortID
    /// When this entry was created (a move keeps it; relearning after expiry resets it).
    public var learnedAt: UInt64
    /// The last time a frame from `mac` arrived on `port`.
    public var lastSeen: UInt64
    /// How many times the station moved to another port since `learnedAt`.
    public var moves: Int

    public init(mac: MACAddress, port: PortID, learnedAt: UInt64, lastSeen: UInt64, moves: Int) {
        self.mac = mac
        self.port = port
        self.learnedAt = learnedAt
        self.lastSeen = lastSeen
        self.moves = moves
    }

    /// Nanoseconds since the station was last seen (zero if `now` is earlier).
    public func age(at now: UInt64) -> UInt64 { now > lastSeen ? now - lastSeen : 0 }

    public var description: String { "\(mac) \(port) moves \(moves)" }
}

/// What `MACTable.learn` did with a source address.
public enum LearnOutcome: Hashable, Sendable {
    /// Multicast, broadcast or all-zero source: never learned.
    case ignored
    /// Known on this port already; its last-seen time was updated.
    case refreshed
    /// A new entry. `evicted` is the entry removed to make room when the table was full.
    case learned(evicted: MACTableEntry?)
    /// Known on another port: the entry moved on this first frame (no hold-down).
    case moved(from: PortID, to: PortID)
}

/// A bounded MAC learning table with aging and per-port fair eviction.
///
/// - **Aging:** an entry idle for longer than `agingTime` is expired, lazily by `lookup` and `learn`,
///   and by an explicit `expire(now:)` sweep. An entry exactly `agingTime` old is still valid.
/// - **Capacity:** when the table is full and a new MAC arrives, an expired entry is reclaimed if one
///   exists; otherwise the least recently seen entry *of the port holding the most MACs* is evicted
///   (Open vSwitch's rule: one port flooding random sources cannot push out the others).
/// - **Moves:** a frame from a known MAC on another port moves the entry at once (like the Linux
///   bridge; vde_switch's 3 s hold-down is what made it lose every RARP).
/// - **Cost:** O(1) amortised per frame at any capacity. Each port keeps an intrusive doubly linked
///   LRU list over a slot array, a dictionary maps MAC to slot, and freed slots are reused, so steady
///   state allocates nothing. Eviction scans ports (few), never entries.
///
/// Times are nanoseconds on a monotonic clock with a caller-chosen epoch. If a caller passes a time
/// earlier than one it passed before, learning treats it as the later time, so LRU order stays exact.
public struct MACTable: Sendable {
    /// Capacity and aging time.
    public struct Configuration: Hashable, Sendable {
        public static let defaultCapacity = 8192
        public static let defaultAgingTime: UInt64 = 300 * 1_000_000_000

        /// Most entries the table holds, 1 ... Int32.max.
        public var capacity: Int
        /// Idle time in nanoseconds after which an entry is expired (default 300 s, as Linux and OVS).
        public var agingTime: UInt64

        public init(capacity: Int = Configuration.defaultCapacity, agingTime: UInt64 = Configuration.defaultAgingTime) {
            precondition(capacity >= 1 && capacity <= Int(Int32.max),
                         "MAC table capacity \(capacity) is out of range; use 1...\(Int32.max)")
            self.capacity = capacity
            self.agingTime = agingTime
        }
    }

    /// Running totals of what the table did.
    public struct Statistics: Hashable, Sendable {
        public var learned: UInt64 = 0
        public var moved: UInt64 = 0
        /// Entries removed to make room (capacity), not by aging.
        public var evicted: UInt64 = 0
        /// Entries removed by aging (lazily or by `expire(now:)`).
        public var expired: UInt64 = 0
        /// Source addresses refused because they were multicast or zero.
        public var ignored: UInt64 = 0

        public init() {}
    }

    struct Slot {
        var mac: UInt64
        var learnedAt: UInt64
        var lastSeen: UInt64
        var moves: UInt32
        /// Index into `lists`, or -1 while the slot is free.
        var list: Int32
        var prev: Int32
        /// Next (older) slot in the port's list, or the next free slot while free.
        var next: Int32
    }

    struct PortList {
        let port: PortID
        /// Most recently seen entry.
        var head: Int32 = -1
        /// Least recently seen entry: the eviction and expiry candidate.
        var tail: Int32 = -1
        var count = 0
    }

    public let configuration: Configuration
    public private(set) var statistics = Statistics()

    private(set) var slots: [Slot] = []
    private var freeHead: Int32 = -1
    private var slotByMAC: MACIndex
    private(set) var lists: [PortList] = []
    private var listByPort = PortMap()
    /// Latest time seen by `learn`; keeps the LRU lists ordered by `lastSeen`.
    private var clock: UInt64 = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        let initial = min(configuration.capacity, Configuration.defaultCapacity)
        slotByMAC = MACIndex(initialCapacity: initial)
        slots.reserveCapacity(initial)
    }

    public init(capacity: Int, agingTime: UInt64 = Configuration.defaultAgingTime) {
        self.init(configuration: Configuration(capacity: capacity, agingTime: agingTime))
    }

    public var capacity: Int { configuration.capacity }
    public var agingTime: UInt64 { configuration.agingTime }
    /// Entries held, including expired ones not yet swept.
    public var count: Int { slotByMAC.count }

    /// Entries held on `port`, including expired ones not yet swept.
    public func count(on port: PortID) -> Int {
        guard let list = listByPort[port] else { return 0 }
        return lists[list].count
    }

    /// Entry counts of every port that ever held an entry, in port order.
    public var countsByPort: [(port: PortID, count: Int)] {
        lists.map { ($0.port, $0.count) }.sorted { $0.port < $1.port }
    }

    // MARK: learning and lookup

    /// Learns that `mac` was the source of a frame that arrived on `port` at `now`.
    public mutating func learn(_ mac: MACAddress, on port: PortID, at now: UInt64) -> LearnOutcome {
        guard !mac.isMulticast, !mac.isZero else {
            statistics.ignored += 1
            return .ignored
        }
        if now > clock { clock = now }
        let now = clock
        let key = mac.rawValue
        let list = listNumber(for: port)

        if let found = slotByMAC[key] {
            let slot = Int(found)
            if isExpired(slot, at: now) {
                _ = remove(slot)
                statistics.expired += 1
            } else if slots[slot].list == list {
                slots[slot].lastSeen = now
                if lists[Int(list)].head != found {
                    unlink(slot)
                    linkAtHead(slot, list: list)
                }
                return .refreshed
            } else {
                let from = lists[Int(slots[slot].list)].port
                unlink(slot)
                linkAtHead(slot, list: list)
                slots[slot].lastSeen = now
                slots[slot].moves &+= 1
                statistics.moved += 1
                return .moved(from: from, to: port)
            }
        }

        var evicted: MACTableEntry? = nil
        if slotByMAC.count >= configuration.capacity {
            evicted = makeRoom(at: now)
        }
        let slot = allocateSlot()
        slots[slot] = Slot(mac: key, learnedAt: now, lastSeen: now, moves: 0, list: -1, prev: -1, next: -1)
        linkAtHead(slot, list: list)
        slotByMAC.set(key, Int32(slot))
        statistics.learned += 1
        return .learned(evicted: evicted)
    }

    /// The entry for `mac`, or nil if unknown or expired; an expired entry is removed here.
    public mutating func lookup(_ mac: MACAddress, at now: UInt64) -> MACTableEntry? {
        guard let found = slotByMAC[mac.rawValue] else { return nil }
        let slot = Int(found)
        if isExpired(slot, at: now) {
            _ = remove(slot)
            statistics.expired += 1
            return nil
        }
        return entry(slot)
    }

    /// The entry for `mac` if it is known and not expired at `now`; changes nothing.
    public func entry(for mac: MACAddress, at now: UInt64) -> MACTableEntry? {
        guard let found = slotByMAC[mac.rawValue], !isExpired(Int(found), at: now) else { return nil }
        return entry(Int(found))
    }

    /// Every entry still valid at `now`, sorted by port then MAC, for display.
    public func entries(at now: UInt64) -> [MACTableEntry] {
        var result: [MACTableEntry] = []
        result.reserveCapacity(slotByMAC.count)
        for list in lists {
            var slot = list.tail
            while slot >= 0 {
                if !isExpired(Int(slot), at: now) { result.append(entry(Int(slot))) }
                slot = slots[Int(slot)].prev
            }
        }
        result.sort { ($0.port, $0.mac) < ($1.port, $1.mac) }
        return result
    }

    // MARK: removal

    /// Removes every entry idle longer than the aging time at `now` and returns them (oldest first
    /// within each port). Costs O(ports + removed).
    public mutating func expire(now: UInt64) -> [MACTableEntry] {
        var removed: [MACTableEntry] = []
        for list in lists.indices {
            while lists[list].tail >= 0, isExpired(Int(lists[list].tail), at: now) {
                removed.append(remove(Int(lists[list].tail)))
            }
        }
        statistics.expired += UInt64(removed.count)
        return removed
    }

    /// Removes every entry; returns how many there were.
    @discardableResult
    public mutating func flush() -> Int {
        let removed = slotByMAC.count
        slotByMAC.removeAll()
        slots.removeAll(keepingCapacity: true)
        freeHead = -1
        for list in lists.indices {
            lists[list].head = -1
            lists[list].tail = -1
            lists[list].count = 0
        }
        return removed
    }

    /// Removes the entries of `port`; returns how many there were.
    @discardableResult
    public mutating func flush(port: PortID) -> Int {
        guard let list = listByPort[port] else { return 0 }
        let removed = lists[list].count
        while lists[list].tail >= 0 {
            _ = remove(Int(lists[list].tail))
        }
        return removed
    }

    // MARK: internals

    private func isExpired(_ slot: Int, at now: UInt64) -> Bool {
        let seen = slots[slot].lastSeen
        return now > seen && now - seen > configuration.agingTime
    }

    private func entry(_ slot: Int) -> MACTableEntry {
        let s = slots[slot]
        return MACTableEntry(mac: MACAddress(rawValue: s.mac), port: lists[Int(s.list)].port,
                             learnedAt: s.learnedAt, lastSeen: s.lastSeen, moves: Int(s.moves))
    }

    private mutating func listNumber(for port: PortID) -> Int32 {
        if let list = listByPort[port] { return Int32(list) }
        let list = lists.count
        lists.append(PortList(port: port))
        listByPort.set(port, list)
        return Int32(list)
    }

    private mutating func allocateSlot() -> Int {
        if freeHead >= 0 {
            let slot = Int(freeHead)
            freeHead = slots[slot].next
            return slot
        }
        slots.append(Slot(mac: 0, learnedAt: 0, lastSeen: 0, moves: 0, list: -1, prev: -1, next: -1))
        return slots.count - 1
    }

    private mutating func linkAtHead(_ slot: Int, list: Int32) {
        let l = Int(list)
        let oldHead = lists[l].head
        slots[slot].list = list
        slots[slot].prev = -1
        slots[slot].next = oldHead
        if oldHead >= 0 { slots[Int(oldHead)].prev = Int32(slot) } else { lists[l].tail = Int32(slot) }
        lists[l].head = Int32(slot)
        lists[l].count += 1
    }

    private mutating func unlink(_ slot: Int) {
        let l = Int(slots[slot].list)
        let prev = slots[slot].prev
        let next = slots[slot].next
        if prev >= 0 { slots[Int(prev)].next = next } else { lists[l].head = next }
        if next >= 0 { slots[Int(next)].prev = prev } else { lists[l].tail = prev }
        lists[l].count -= 1
    }

    private mutating func remove(_ slot: Int) -> MACTableEntry {
        let removed = entry(slot)
        unlink(slot)
        slotByMAC.remove(slots[slot].mac)
        slots[slot].list = -1
        slots[slot].prev = -1
        slots[slot].next = freeHead
        freeHead = Int32(slot)
        return removed
    }

    /// Frees one slot in a full table: the oldest expired entry if any, else the least recently
    /// seen entry of the port with the most entries (ties: the port whose LRU entry is oldest).
    /// Returns the entry evicted for capacity, nil if an expired one was reclaimed.
    private mutating func makeRoom(at now: UInt64) -> MACTableEntry? {
        var oldest = -1
        var oldestSeen = UInt64.max
        var largest = -1
        var largestCount = 0
        var largestTailSeen = UInt64.max
        for (index, list) in lists.enumerated() where list.count > 0 {
            let tailSeen = slots[Int(list.tail)].lastSeen
            if tailSeen < oldestSeen {
                oldest = index
                oldestSeen = tailSeen
            }
            if list.count > largestCount || (list.count == largestCount && tailSeen < largestTailSeen) {
                largest = index
                largestCount = list.count
                largestTailSeen = tailSeen
            }
        }
        if oldest >= 0, isExpired(Int(lists[oldest].tail), at: now) {
            _ = remove(Int(lists[oldest].tail))
            statistics.expired += 1
            return nil
        }
        let victim = remove(Int(lists[largest].tail))
        statistics.evicted += 1
        return victim
    }

    /// Checks every structural invariant; returns a description of the first violation. For tests.
    func invariantViolation() -> String? {
        var total = 0
        for (index, list) in lists.enumerated() {
            var count = 0
            var slot = list.head
            var prev: Int32 = -1
            var newerSeen = UInt64.max
            while slot >= 0 {
                let s = slots[Int(slot)]
                if s.list != Int32(index) { return "slot \(slot) in list \(index) says list \(s.list)" }
                if s.prev != prev { return "slot \(slot) prev \(s.prev), expected \(prev)" }
                if s.lastSeen > newerSeen { return "list \(index) not ordered by last seen at slot \(slot)" }
                if slotByMAC[s.mac] != slot { return "MAC of slot \(slot) not indexed to it" }
                newerSeen = s.lastSeen
                prev = slot
                slot = s.next
                count += 1
                if count > slots.count { return "cycle in list \(index)" }
            }
            if list.tail != prev { return "list \(index) tail \(list.tail), expected \(prev)" }
            if list.count != count { return "list \(index) count \(list.count), walked \(count)" }
            total += count
        }
        if total != slotByMAC.count { return "lists hold \(total), index holds \(slotByMAC.count)" }
        if total > configuration.capacity { return "\(total) entries exceed capacity \(configuration.capacity)" }
        return nil
    }
}
