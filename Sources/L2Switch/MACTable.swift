import L2Wire

/// A bounded MAC learning table keyed by (VLAN, MAC), with aging, per-port fair eviction, an
/// optional move hold-down, flap detection and per-port limits.
///
/// - **Keys:** a station is learned per VLAN (0 for VLAN-unaware ports): the same MAC in two VLANs
///   is two entries, as in any VLAN-aware bridge (and vde_switch).
/// - **Aging:** an entry idle for longer than `agingTime` is expired, lazily by `lookup` and `learn`,
///   and by an explicit `expire(now:)` sweep. An entry exactly `agingTime` old is still valid. Sticky
///   entries (a port whose `LearnPolicy` says so) never age.
/// - **Capacity:** when the table is full and a new MAC arrives, an expired entry is reclaimed if one
///   exists; otherwise the least recently seen entry *of the port holding the most MACs* is evicted
///   (Open vSwitch's rule: one port flooding random sources cannot push out the others). Sticky
///   entries go last.
/// - **Moves:** a frame from a known MAC on another port moves the entry at once (like the Linux
///   bridge), unless `moveHoldDown` is set: then a move of a station last seen on its port less than
///   that long ago is ignored (`.moveIgnored`), as vde_switch does (its 3 s is what made it lose every
///   RARP after a migration).
/// - **Flaps:** a station that moves `flapMoves` times within `flapWindow` is flapping; the move that
///   reaches the count is reported (`.flapped`) once per window.
/// - **Limits:** a port's `LearnPolicy` caps its entries; one more is `.limitReached`.
/// - **Cost:** O(1) amortised per frame at any capacity. Each port keeps intrusive doubly linked LRU
///   lists (one for entries that age, one for sticky ones) over a slot array, an open-addressing
///   index maps (VLAN, MAC) to slot, and freed slots are reused, so steady state allocates nothing.
///   Eviction scans ports (few), never entries.
///
/// Times are nanoseconds on a monotonic clock with a caller-chosen epoch. If a caller passes a time
/// earlier than one it passed before, learning treats it as the later time, so LRU order stays exact.
public struct MACTable: Sendable {
    /// Capacity, aging time, hold-down and flap detection.
    public struct Configuration: Hashable, Sendable {
        public static let defaultCapacity = 8192
        public static let defaultAgingTime: UInt64 = 300 * 1_000_000_000
        public static let defaultFlapMoves = 4
        public static let defaultFlapWindow: UInt64 = 5 * 1_000_000_000

        /// Most entries the table holds, 1 ... Int32.max.
        public var capacity: Int
        /// Idle time in nanoseconds after which an entry is expired (default 300 s, as Linux and OVS).
        public var agingTime: UInt64
        /// A station seen on its port less than this many nanoseconds ago does not move (0: moves at once).
        public var moveHoldDown: UInt64
        /// Moves within `flapWindow` that make a station a flapper (0: no flap detection).
        public var flapMoves: Int
        /// The window, in nanoseconds, in which `flapMoves` moves are a flap.
        public var flapWindow: UInt64

        public init(capacity: Int = Configuration.defaultCapacity, agingTime: UInt64 = Configuration.defaultAgingTime,
                    moveHoldDown: UInt64 = 0, flapMoves: Int = Configuration.defaultFlapMoves,
                    flapWindow: UInt64 = Configuration.defaultFlapWindow) {
            precondition(capacity >= 1 && capacity <= Int(Int32.max),
                         "MAC table capacity \(capacity) is out of range; use 1...\(Int32.max)")
            precondition(flapMoves >= 0 && flapMoves <= Int(UInt16.max), "flap moves \(flapMoves) is out of range; use 0...65535")
            self.capacity = capacity
            self.agingTime = agingTime
            self.moveHoldDown = moveHoldDown
            self.flapMoves = flapMoves
            self.flapWindow = flapWindow
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
        /// Moves the hold-down refused.
        public var movesIgnored: UInt64 = 0
        /// Flaps reported (one per station per window).
        public var flaps: UInt64 = 0
        /// Addresses not learned because their port was at its limit.
        public var refused: UInt64 = 0

        public init() {}
    }

    struct Slot {
        /// `MACTable.key(mac, vlan)`: the VLAN in the top 16 bits, the MAC in the low 48.
        var key: UInt64
        var learnedAt: UInt64
        var lastSeen: UInt64
        /// When the current flap window began (the first move in it).
        var flapSince: UInt64
        var moves: UInt32
        /// Index into `lists`, or -1 while the slot is free.
        var list: Int32
        var prev: Int32
        /// Next (older) slot in the port's list, or the next free slot while free.
        var next: Int32
        /// Moves in the current flap window.
        var flapMoves: UInt16
        var flags: UInt8

        static let sticky: UInt8 = 1
        static let ignoreReported: UInt8 = 2
        static let flapReported: UInt8 = 4
    }

    struct PortList {
        let port: PortID
        /// Its entries never age and are evicted last.
        let sticky: Bool
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
    private var slotByKey: MACIndex
    private(set) var lists: [PortList] = []
    private var listByPort = PortMap()
    private var stickyListByPort = PortMap()
    /// Latest time seen by `learn`; keeps the LRU lists ordered by `lastSeen`.
    private var clock: UInt64 = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        let initial = min(configuration.capacity, Configuration.defaultCapacity)
        slotByKey = MACIndex(initialCapacity: initial)
        slots.reserveCapacity(initial)
    }

    public init(capacity: Int, agingTime: UInt64 = Configuration.defaultAgingTime) {
        self.init(configuration: Configuration(capacity: capacity, agingTime: agingTime))
    }

    public var capacity: Int { configuration.capacity }
    public var agingTime: UInt64 { configuration.agingTime }
    /// Entries held, including expired ones not yet swept.
    public var count: Int { slotByKey.count }

    /// The index key of (`vlan`, `mac`).
    @inline(__always)
    static func key(_ mac: MACAddress, _ vlan: UInt16) -> UInt64 { UInt64(vlan) << 48 | mac.rawValue }

    /// Entries held on `port` (every VLAN, sticky or not), including expired ones not yet swept.
    public func count(on port: PortID) -> Int {
        (listByPort[port].map { lists[$0].count } ?? 0) + (stickyListByPort[port].map { lists[$0].count } ?? 0)
    }

    /// Entry counts of every port that ever held an entry, in port order.
    public var countsByPort: [(port: PortID, count: Int)] {
        var counts: [PortID: Int] = [:]
        for list in lists { counts[list.port, default: 0] += list.count }
        return counts.map { ($0.key, $0.value) }.sorted { $0.port < $1.port }
    }

    // MARK: learning and lookup

    /// Learns that `mac` was the source of a frame that arrived on `port` in `vlan` at `now`, within
    /// what the port's `policy` allows.
    public mutating func learn(_ mac: MACAddress, vlan: UInt16 = 0, on port: PortID, at now: UInt64,
                               policy: LearnPolicy = .open) -> LearnOutcome {
        guard !mac.isMulticast, !mac.isZero else {
            statistics.ignored += 1
            return .ignored
        }
        if now > clock { clock = now }
        let now = clock
        let key = Self.key(mac, vlan)
        let list = listNumber(for: port, sticky: policy.sticky)

        if let found = slotByKey[key] {
            let slot = Int(found)
            if isExpired(slot, at: now) {
                _ = remove(slot)
                statistics.expired += 1
            } else if slots[slot].list == list {
                slots[slot].lastSeen = now
                slots[slot].flags &= ~Slot.ignoreReported
                if lists[Int(list)].head != found {
                    unlink(slot)
                    linkAtHead(slot, list: list)
                }
                return .refreshed
            } else {
                return move(slot, to: list, at: now, policy: policy)
            }
        }

        if policy.maximumEntries > 0, !hasRoom(on: port, for: policy, at: now) {
            statistics.refused += 1
            return .limitReached
        }
        var evicted: MACTableEntry? = nil
        if slotByKey.count >= configuration.capacity {
            evicted = makeRoom(at: now)
        }
        let slot = allocateSlot()
        slots[slot] = Slot(key: key, learnedAt: now, lastSeen: now, flapSince: 0, moves: 0, list: -1, prev: -1, next: -1,
                           flapMoves: 0, flags: policy.sticky ? Slot.sticky : 0)
        linkAtHead(slot, list: list)
        slotByKey.set(key, Int32(slot))
        statistics.learned += 1
        return .learned(evicted: evicted)
    }

    /// A known station seen on another port: moves it unless the hold-down or the new port's limit
    /// says no, and keeps its flap count.
    private mutating func move(_ slot: Int, to list: Int32, at now: UInt64, policy: LearnPolicy) -> LearnOutcome {
        let from = lists[Int(slots[slot].list)].port
        let to = lists[Int(list)].port
        if from == to {
            // The same port under another policy (sticky or not): a refresh into that list.
            unlink(slot)
            linkAtHead(slot, list: list)
            slots[slot].lastSeen = now
            slots[slot].flags = (slots[slot].flags & ~(Slot.ignoreReported | Slot.sticky)) | (lists[Int(list)].sticky ? Slot.sticky : 0)
            return .refreshed
        }
        let holdDown = configuration.moveHoldDown
        if holdDown > 0, now - slots[slot].lastSeen < holdDown {
            let first = slots[slot].flags & Slot.ignoreReported == 0
            slots[slot].flags |= Slot.ignoreReported
            statistics.movesIgnored += 1
            return .moveIgnored(on: from, to: to, first: first)
        }
        if policy.maximumEntries > 0, !hasRoom(on: to, for: policy, at: now) {
            statistics.refused += 1
            return .limitReached
        }
        unlink(slot)
        linkAtHead(slot, list: list)
        slots[slot].lastSeen = now
        slots[slot].moves &+= 1
        slots[slot].flags = (slots[slot].flags & ~(Slot.ignoreReported | Slot.sticky)) | (policy.sticky ? Slot.sticky : 0)
        statistics.moved += 1
        guard configuration.flapMoves > 0 else { return .moved(from: from, to: to) }
        if slots[slot].flapMoves == 0 || now - slots[slot].flapSince > configuration.flapWindow {
            slots[slot].flapSince = now
            slots[slot].flapMoves = 0
            slots[slot].flags &= ~Slot.flapReported
        }
        slots[slot].flapMoves &+= slots[slot].flapMoves == UInt16.max ? 0 : 1
        guard Int(slots[slot].flapMoves) >= configuration.flapMoves, slots[slot].flags & Slot.flapReported == 0 else {
            return .moved(from: from, to: to)
        }
        slots[slot].flags |= Slot.flapReported
        statistics.flaps += 1
        return .flapped(from: from, to: to, moves: Int(slots[slot].flapMoves), span: now - slots[slot].flapSince)
    }

    /// The entry for `mac` in `vlan`, or nil if unknown or expired; an expired entry is removed here.
    public mutating func lookup(_ mac: MACAddress, vlan: UInt16 = 0, at now: UInt64) -> MACTableEntry? {
        validSlot(Self.key(mac, vlan), at: now).map(entry)
    }

    /// The port of `mac` in `vlan`, as `lookup` finds it (an expired entry is removed here), without
    /// building the whole entry: the forwarding path's question.
    @inline(__always)
    public mutating func port(of mac: MACAddress, vlan: UInt16 = 0, at now: UInt64) -> PortID? {
        validSlot(Self.key(mac, vlan), at: now).map { lists[Int(slots[$0].list)].port }
    }

    /// The slot of `key` if it holds an entry valid at `now`; an expired one is removed.
    @inline(__always)
    private mutating func validSlot(_ key: UInt64, at now: UInt64) -> Int? {
        guard let found = slotByKey[key] else { return nil }
        let slot = Int(found)
        guard !isExpired(slot, at: now) else {
            _ = remove(slot)
            statistics.expired += 1
            return nil
        }
        return slot
    }

    /// The entry for `mac` in `vlan` if it is known and not expired at `now`; changes nothing.
    public func entry(for mac: MACAddress, vlan: UInt16 = 0, at now: UInt64) -> MACTableEntry? {
        guard let found = slotByKey[Self.key(mac, vlan)], !isExpired(Int(found), at: now) else { return nil }
        return entry(Int(found))
    }

    /// Every entry still valid at `now`, sorted by port, VLAN, then MAC, for display.
    public func entries(at now: UInt64) -> [MACTableEntry] {
        var result: [MACTableEntry] = []
        result.reserveCapacity(slotByKey.count)
        for list in lists {
            var slot = list.tail
            while slot >= 0 {
                if !isExpired(Int(slot), at: now) { result.append(entry(Int(slot))) }
                slot = slots[Int(slot)].prev
            }
        }
        result.sort { ($0.port, $0.vlan, $0.mac) < ($1.port, $1.vlan, $1.mac) }
        return result
    }

    // MARK: removal

    /// Removes every entry idle longer than the aging time at `now` and returns them (oldest first
    /// within each port). Sticky entries stay. Costs O(ports + removed).
    public mutating func expire(now: UInt64) -> [MACTableEntry] {
        var removed: [MACTableEntry] = []
        for list in lists.indices where !lists[list].sticky {
            while lists[list].tail >= 0, isExpired(Int(lists[list].tail), at: now) {
                removed.append(remove(Int(lists[list].tail)))
            }
        }
        statistics.expired += UInt64(removed.count)
        return removed
    }

    /// Removes every entry, sticky ones included; returns how many there were.
    @discardableResult
    public mutating func flush() -> Int {
        let removed = slotByKey.count
        slotByKey.removeAll()
        slots.removeAll(keepingCapacity: true)
        freeHead = -1
        for list in lists.indices {
            lists[list].head = -1
            lists[list].tail = -1
            lists[list].count = 0
        }
        return removed
    }

    /// Removes the entries of `port`, sticky ones included; returns how many there were.
    @discardableResult
    public mutating func flush(port: PortID) -> Int {
        var removed = 0
        for list in [listByPort[port], stickyListByPort[port]].compactMap({ $0 }) {
            removed += lists[list].count
            while lists[list].tail >= 0 {
                _ = remove(Int(lists[list].tail))
            }
        }
        return removed
    }

    // MARK: internals

    @inline(__always)
    private func isExpired(_ slot: Int, at now: UInt64) -> Bool {
        let seen = slots[slot].lastSeen
        return now > seen && now - seen > configuration.agingTime && slots[slot].flags & Slot.sticky == 0
    }

    private func entry(_ slot: Int) -> MACTableEntry {
        let s = slots[slot]
        return MACTableEntry(mac: MACAddress(rawValue: s.key & 0xFFFF_FFFF_FFFF), port: lists[Int(s.list)].port,
                             learnedAt: s.learnedAt, lastSeen: s.lastSeen, moves: Int(s.moves),
                             vlan: UInt16(truncatingIfNeeded: s.key >> 48), sticky: s.flags & Slot.sticky != 0)
    }

    private mutating func listNumber(for port: PortID, sticky: Bool) -> Int32 {
        if let list = sticky ? stickyListByPort[port] : listByPort[port] { return Int32(list) }
        let list = lists.count
        lists.append(PortList(port: port, sticky: sticky))
        if sticky { stickyListByPort.set(port, list) } else { listByPort.set(port, list) }
        return Int32(list)
    }

    /// Whether `port` may take one more entry under `policy`: below the limit, or below it once its
    /// expired entries are removed.
    private mutating func hasRoom(on port: PortID, for policy: LearnPolicy, at now: UInt64) -> Bool {
        if count(on: port) < policy.maximumEntries { return true }
        if let list = listByPort[port] {
            while lists[list].tail >= 0, isExpired(Int(lists[list].tail), at: now) {
                _ = remove(Int(lists[list].tail))
                statistics.expired += 1
            }
        }
        return count(on: port) < policy.maximumEntries
    }

    private mutating func allocateSlot() -> Int {
        if freeHead >= 0 {
            let slot = Int(freeHead)
            freeHead = slots[slot].next
            return slot
        }
        slots.append(Slot(key: 0, learnedAt: 0, lastSeen: 0, flapSince: 0, moves: 0, list: -1, prev: -1, next: -1, flapMoves: 0, flags: 0))
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
        slotByKey.remove(slots[slot].key)
        slots[slot].list = -1
        slots[slot].prev = -1
        slots[slot].next = freeHead
        freeHead = Int32(slot)
        return removed
    }

    /// Frees one slot in a full table: the oldest expired entry if any, else the least recently
    /// seen entry of the port with the most entries that age (ties: the port whose LRU entry is
    /// oldest); sticky entries only when nothing else is left. Returns the entry evicted for
    /// capacity, nil if an expired one was reclaimed.
    private mutating func makeRoom(at now: UInt64) -> MACTableEntry? {
        var oldest = -1
        var oldestSeen = UInt64.max
        var largest = -1
        var largestCount = 0
        var largestTailSeen = UInt64.max
        for (index, list) in lists.enumerated() where list.count > 0 {
            let tailSeen = slots[Int(list.tail)].lastSeen
            if !list.sticky, tailSeen < oldestSeen {
                oldest = index
                oldestSeen = tailSeen
            }
            let better = list.count > largestCount || (list.count == largestCount && tailSeen < largestTailSeen)
            if largest < 0 || (lists[largest].sticky && !list.sticky) || (lists[largest].sticky == list.sticky && better) {
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
                if slotByKey[s.key] != slot { return "key of slot \(slot) not indexed to it" }
                if (s.flags & Slot.sticky != 0) != list.sticky { return "slot \(slot) stickiness differs from its list's" }
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
        if total != slotByKey.count { return "lists hold \(total), index holds \(slotByKey.count)" }
        if total > configuration.capacity { return "\(total) entries exceed capacity \(configuration.capacity)" }
        return nil
    }
}
