/// Where the services keep their state inside `ServiceStore.bytes` (offsets from its first byte,
/// which must be 8-byte aligned; the network region's is page aligned). All-zero memory is a valid, empty store, so a fresh VM needs no setup and
/// a migration carries the store with the other pages.
///
/// - page 0, the counters (64-bit little-endian words):
///   - `+0`  HTTP requests answered (every response, errors included);
///   - `+8`  Redis commands answered;
///   - `+16` Redis keys stored (live entries);
///   - `+24` Redis tombstones (deleted entries not yet reclaimed);
///   - `+32` echo bytes echoed;
/// - pages 1...: the Redis key-value table, `KeyValueTable.entriesPerPage` fixed-size entries per page
///   (an entry never straddles a page, so one `SET` dirties one page plus the counters page).
///   The 1 MiB store of `GuestLayout.servicePages` holds 255 × 7 = 1 785 entries, at most
///   `KeyValueTable.maximumLiveFraction` of them live.
public enum ServiceStoreLayout {
    public static let httpRequestsOffset = 0
    public static let redisCommandsOffset = 8
    public static let redisKeysOffset = 16
    public static let redisTombstonesOffset = 24
    public static let echoBytesOffset = 32
    /// Offset of the key-value table: the second page of the store.
    public static let tableOffset = GuestMemory.pageSize
}

extension ServiceStore {
    /// HTTP requests the VM has answered since power-on (carried by migrations).
    public var httpRequestCount: UInt64 { counter(ServiceStoreLayout.httpRequestsOffset) }
    /// Redis commands the VM has answered since power-on.
    public var redisCommandCount: UInt64 { counter(ServiceStoreLayout.redisCommandsOffset) }
    /// Keys in the VM's Redis store.
    public var redisKeyCount: UInt64 { counter(ServiceStoreLayout.redisKeysOffset) }
    /// Bytes the echo service has echoed.
    public var echoByteCount: UInt64 { counter(ServiceStoreLayout.echoBytesOffset) }

    func counter(_ offset: Int) -> UInt64 {
        guard bytes.count >= offset + 8 else { return 0 }
        return memory.loadUInt64(at: bytes.lowerBound + offset)
    }

    func setCounter(_ offset: Int, _ value: UInt64) {
        guard bytes.count >= offset + 8 else { return }
        memory.storeUInt64(value, at: bytes.lowerBound + offset)
    }

    /// Adds `amount` to a counter (wrapping) and returns the new value.
    @discardableResult
    func bump(_ offset: Int, by amount: UInt64 = 1) -> UInt64 {
        let value = counter(offset) &+ amount
        setCounter(offset, value)
        return value
    }
}
