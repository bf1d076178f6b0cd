/// MAC table key (the VLAN in the top 16 bits, the MAC's 48-bit value below) → slot number: an open-addressing hash table with linear
/// probing, one control byte per bucket, and backward-shift deletion, so churn leaves no tombstones
/// and steady state allocates nothing. It grows by doubling (load ≤ 1/2) and never shrinks.
///
/// Why not `Dictionary<UInt64, Int32>`: in a profile of the switch, SipHash was about half of the
/// per-frame time; with this table a frame between known stations costs about half as much. The
/// mixer is MurmurHash3's fmix64 over the key xor a seed taken from the standard library's
/// per-process random hashing seed, so bucket positions cannot be predicted from outside.
struct MACIndex {
    struct Bucket {
        var key: UInt64
        var value: Int32
    }

    /// One byte per bucket, scanned before the bucket itself (SwissTable's idea): 0 means empty,
    /// otherwise 0x80 | seven bits of the key's hash. A miss, the common case under a flood of
    /// unknown MACs, is then mostly answered from this array, a sixteenth of the buckets' size.
    private var control: [UInt8]
    private var buckets: [Bucket]
    private var mask: Int
    private(set) var count = 0
    private let seed: UInt64

    init(initialCapacity: Int) {
        var size = 16
        while size < initialCapacity * 2 { size <<= 1 }
        control = Array(repeating: 0, count: size)
        buckets = Array(repeating: Bucket(key: 0, value: -1), count: size)
        mask = size - 1
        var hasher = Hasher()
        hasher.combine(0x6C32_6D6F_7469_6F6E as UInt64)
        seed = UInt64(UInt(bitPattern: hasher.finalize()))
    }

    @inline(__always)
    private func hash(_ key: UInt64) -> UInt64 {
        // fmix64 from MurmurHash3 over the seeded key.
        var h = key ^ seed
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }

    @inline(__always)
    private func home(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash) & mask }

    @inline(__always)
    private static func tag(_ hash: UInt64) -> UInt8 { 0x80 | UInt8(truncatingIfNeeded: hash >> 57) }

    /// The bucket holding `key`, or the empty bucket where it would go.
    @inline(__always)
    private func find(_ key: UInt64) -> (index: Int, found: Bool) {
        let h = hash(key)
        let tag = MACIndex.tag(h)
        var i = home(h)
        while true {
            let c = control[i]
            if c == 0 { return (i, false) }
            if c == tag && buckets[i].key == key { return (i, true) }
            i = (i + 1) & mask
        }
    }

    subscript(key: UInt64) -> Int32? {
        let (i, found) = find(key)
        return found ? buckets[i].value : nil
    }

    /// Inserts or replaces.
    mutating func set(_ key: UInt64, _ value: Int32) {
        if (count + 1) * 2 > buckets.count { grow() }
        let (i, found) = find(key)
        if !found {
            control[i] = MACIndex.tag(hash(key))
            buckets[i].key = key
            count += 1
        }
        buckets[i].value = value
    }

    mutating func remove(_ key: UInt64) {
        var (hole, found) = find(key)
        guard found else { return }
        // Shift later members of the probe run back into the hole when that brings them no
        // further from their home bucket than they are now (no tombstones).
        var j = hole
        while true {
            j = (j + 1) & mask
            if control[j] == 0 { break }
            if (j - home(hash(buckets[j].key))) & mask >= (j - hole) & mask {
                control[hole] = control[j]
                buckets[hole] = buckets[j]
                hole = j
            }
        }
        control[hole] = 0
        count -= 1
    }

    mutating func removeAll() {
        for i in control.indices { control[i] = 0 }
        count = 0
    }

    private mutating func grow() {
        let oldControl = control
        let oldBuckets = buckets
        control = Array(repeating: 0, count: oldControl.count * 2)
        buckets = Array(repeating: Bucket(key: 0, value: -1), count: oldControl.count * 2)
        mask = buckets.count - 1
        count = 0
        for i in oldControl.indices where oldControl[i] != 0 {
            set(oldBuckets[i].key, oldBuckets[i].value)
        }
    }
}

/// Port number → small dense index. Port numbers below 4096 (all real setups) index an array
/// directly; others fall back to a dictionary.
struct PortMap {
    static let directLimit = 4096

    private var direct: [Int32] = []
    private var others: [PortID: Int32] = [:]

    @inline(__always)
    subscript(port: PortID) -> Int? {
        let raw = port.rawValue
        if raw >= 0 && raw < PortMap.directLimit {
            guard raw < direct.count else { return nil }
            let value = direct[raw]
            return value >= 0 ? Int(value) : nil
        }
        return others[port].map { Int($0) }
    }

    mutating func set(_ port: PortID, _ index: Int) {
        let raw = port.rawValue
        if raw >= 0 && raw < PortMap.directLimit {
            if raw >= direct.count { direct += repeatElement(-1, count: raw + 1 - direct.count) }
            direct[raw] = Int32(index)
        } else {
            others[port] = Int32(index)
        }
    }
}
