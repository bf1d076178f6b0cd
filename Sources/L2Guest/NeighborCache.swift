import L2Wire

/// The guest's neighbour cache (ARP and NDP in one), in guest page 2: which MAC each IP address
/// it talks to was last seen with. The TCP stack's timers send segments with no frame to answer
/// (retransmissions, window probes), so the guest must know the peer's MAC itself, and after a
/// migration it still does: the cache is guest memory like everything else.
///
/// 128 entries of 32 bytes: family (4 or 6, 0 = empty), 7 bytes padding, the address (16 bytes,
/// an IPv4 address in the first 4), the MAC (6 bytes), 2 bytes padding. Full: the entry after the
/// last one replaced, round robin (the cursor is the header word before the entries).
public enum NeighborCache {
    public static let offset = GuestLayout.neighborCacheOffset
    public static let entries = 127
    static let entrySize = 32
    static var cursorOffset: Int { offset }
    static func entryOffset(_ index: Int) -> Int { offset + 8 + index * entrySize }

    /// The MAC last seen with `address`, or nil.
    public static func lookup(_ address: IPAddress, memory: GuestMemory) -> MACAddress? {
        let key = Self.key(address)
        for index in 0..<entries {
            let base = entryOffset(index)
            guard memory.loadUInt64(at: base) == key.family else { continue }
            if memory.loadUInt64(at: base + 8) == key.high, memory.loadUInt64(at: base + 16) == key.low {
                return MACAddress(rawValue: memory.loadUInt64(at: base + 24))
            }
        }
        return nil
    }

    /// Records that `address` uses `mac`; writes (and dirties the page) only when that is news.
    public static func learn(_ address: IPAddress, mac: MACAddress, memory: GuestMemory) {
        guard !mac.isMulticast, !mac.isZero else { return }
        let key = Self.key(address)
        var free: Int?
        for index in 0..<entries {
            let base = entryOffset(index)
            let family = memory.loadUInt64(at: base)
            if family == 0 {
                if free == nil { free = index }
                continue
            }
            guard family == key.family, memory.loadUInt64(at: base + 8) == key.high, memory.loadUInt64(at: base + 16) == key.low else { continue }
            if memory.loadUInt64(at: base + 24) != mac.rawValue { memory.storeUInt64(mac.rawValue, at: base + 24) }
            return
        }
        let index: Int
        if let free {
            index = free
        } else {
            let cursor = Int(memory.loadUInt64(at: cursorOffset) % UInt64(entries))
            memory.storeUInt64(UInt64((cursor + 1) % entries), at: cursorOffset)
            index = cursor
        }
        let base = entryOffset(index)
        memory.storeUInt64(key.high, at: base + 8)
        memory.storeUInt64(key.low, at: base + 16)
        memory.storeUInt64(mac.rawValue, at: base + 24)
        memory.storeUInt64(key.family, at: base)
    }

    static func key(_ address: IPAddress) -> (family: UInt64, high: UInt64, low: UInt64) {
        switch address {
        case let .v4(ip): (4, UInt64(ip.rawValue), 0)
        case let .v6(ip): (6, ip.high, ip.low)
        }
    }
}
