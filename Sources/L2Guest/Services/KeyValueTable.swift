/// The Redis store: an open-addressing hash table (linear probing, tombstones) of fixed-size entries
/// in guest memory, so it migrates with the VM. The hash is FNV-1a 64, which is the same on every
/// host (Swift's `Hasher` is seeded per process and would make the table unreadable after a
/// migration).
///
/// Entry (`entryBytes` = 584, 8-byte aligned, `entriesPerPage` = 7 per page, never across a page):
/// - `+0` header word (little-endian): state (bits 0–7: 0 empty, 1 live, 2 tombstone), key length
///   (bits 8–15), value length (bits 16–31), the hash's upper 32 bits (bits 32–63);
/// - `+8` key (`maximumKey` bytes), `+72` value (`maximumValue` bytes).
///
/// A deleted entry becomes a tombstone unless the next slot is empty; then it, and the tombstones
/// right before it, become empty again (a probe reaching them would stop at the next slot anyway).
struct KeyValueTable {
    static let maximumKey = 64
    static let maximumValue = 512
    static let entryBytes = 8 + maximumKey + maximumValue
    static let entriesPerPage = GuestMemory.pageSize / entryBytes
    /// Live entries may fill at most three quarters of the slots (short probes; then `OOM`).
    static let maximumLiveFraction = (numerator: 3, denominator: 4)

    enum State: UInt64 { case empty = 0, live = 1, tombstone = 2 }

    enum SetCondition { case always, ifAbsent, ifPresent }

    enum SetResult: Equatable { case stored, conditionFailed, full }

    let store: ServiceStore
    let slotCount: Int

    init(store: ServiceStore) {
        self.store = store
        let pages = max(0, (store.bytes.count - ServiceStoreLayout.tableOffset) / GuestMemory.pageSize)
        slotCount = pages * Self.entriesPerPage
    }

    var maximumLive: Int {
        slotCount * Self.maximumLiveFraction.numerator / Self.maximumLiveFraction.denominator
    }

    var liveCount: Int { Int(clamping: store.counter(ServiceStoreLayout.redisKeysOffset)) }
    var tombstoneCount: Int { Int(clamping: store.counter(ServiceStoreLayout.redisTombstonesOffset)) }

    // MARK: reading

    func value(for key: ArraySlice<UInt8>) -> [UInt8]? {
        guard let slot = find(key).slot else { return nil }
        let header = header(slot)
        return store.memory.read(at: offset(slot) + 8 + Self.maximumKey, count: Int(header >> 16 & 0xFFFF))
    }

    func contains(_ key: ArraySlice<UInt8>) -> Bool { find(key).slot != nil }

    // MARK: writing

    /// Stores `value` under `key` (both already within the size limits).
    func set(_ key: ArraySlice<UInt8>, _ value: ArraySlice<UInt8>, condition: SetCondition = .always) -> SetResult {
        precondition(key.count <= Self.maximumKey && value.count <= Self.maximumValue)
        let found = find(key)
        if let slot = found.slot {
            guard condition != .ifAbsent else { return .conditionFailed }
            let base = offset(slot)
            store.memory.write(at: base + 8 + Self.maximumKey, bytes: Array(value))
            store.memory.storeUInt64(packHeader(.live, key.count, value.count, found.tag), at: base)
            return .stored
        }
        guard condition != .ifPresent else { return .conditionFailed }
        guard liveCount < maximumLive, let slot = found.free else { return .full }
        let base = offset(slot)
        if state(header(slot)) == .tombstone {
            store.setCounter(ServiceStoreLayout.redisTombstonesOffset, UInt64(tombstoneCount - 1))
        }
        store.memory.write(at: base + 8, bytes: Array(key))
        store.memory.write(at: base + 8 + Self.maximumKey, bytes: Array(value))
        store.memory.storeUInt64(packHeader(.live, key.count, value.count, found.tag), at: base)
        store.setCounter(ServiceStoreLayout.redisKeysOffset, UInt64(liveCount + 1))
        return .stored
    }

    /// Removes `key`; true if it was there.
    func remove(_ key: ArraySlice<UInt8>) -> Bool {
        guard let slot = find(key).slot else { return false }
        var tombstones = tombstoneCount
        let next = (slot + 1) % slotCount
        if state(header(next)) == .empty {
            store.memory.storeUInt64(0, at: offset(slot))
            var previous = (slot + slotCount - 1) % slotCount
            while previous != slot, state(header(previous)) == .tombstone {
                store.memory.storeUInt64(0, at: offset(previous))
                tombstones -= 1
                previous = (previous + slotCount - 1) % slotCount
            }
        } else {
            store.memory.storeUInt64(State.tombstone.rawValue, at: offset(slot))
            tombstones += 1
        }
        store.setCounter(ServiceStoreLayout.redisTombstonesOffset, UInt64(max(0, tombstones)))
        store.setCounter(ServiceStoreLayout.redisKeysOffset, UInt64(max(0, liveCount - 1)))
        return true
    }

    /// Empties the table, writing only the entries that were in use.
    func removeAll() {
        for slot in 0..<slotCount where header(slot) != 0 {
            store.memory.storeUInt64(0, at: offset(slot))
        }
        store.setCounter(ServiceStoreLayout.redisKeysOffset, 0)
        store.setCounter(ServiceStoreLayout.redisTombstonesOffset, 0)
    }

    // MARK: slots

    /// The slot holding `key` if any, and the first slot an insert may use.
    func find(_ key: ArraySlice<UInt8>) -> (slot: Int?, free: Int?, tag: UInt64) {
        let hash = Self.fnv1a(key)
        let tag = hash >> 32
        guard slotCount > 0 else { return (nil, nil, tag) }
        var slot = Int(hash % UInt64(slotCount))
        var free: Int?
        for _ in 0..<slotCount {
            let header = header(slot)
            switch state(header) {
            case .empty:
                return (nil, free ?? slot, tag)
            case .tombstone:
                if free == nil { free = slot }
            case .live:
                if header >> 32 == tag, Int(header >> 8 & 0xFF) == key.count,
                   store.memory.read(at: offset(slot) + 8, count: key.count).elementsEqual(key) {
                    return (slot, free, tag)
                }
            }
            slot = slot + 1 == slotCount ? 0 : slot + 1
        }
        return (nil, free, tag)
    }

    func offset(_ slot: Int) -> Int {
        store.bytes.lowerBound + ServiceStoreLayout.tableOffset
            + (slot / Self.entriesPerPage) * GuestMemory.pageSize + (slot % Self.entriesPerPage) * Self.entryBytes
    }

    func header(_ slot: Int) -> UInt64 { store.memory.loadUInt64(at: offset(slot)) }

    /// A header with an unknown state byte (memory scribbled over) reads as a tombstone: probes go on.
    func state(_ header: UInt64) -> State { State(rawValue: header & 0xFF) ?? .tombstone }

    func packHeader(_ state: State, _ keyCount: Int, _ valueCount: Int, _ tag: UInt64) -> UInt64 {
        state.rawValue | UInt64(keyCount) << 8 | UInt64(valueCount) << 16 | tag << 32
    }

    /// FNV-1a, 64-bit: deterministic on every host.
    static func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}
