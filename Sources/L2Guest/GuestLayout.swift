/// Where the guest keeps the few things the emulator itself reads or writes, so the workload and the
/// power-on fill never clobber them.
///
/// - page 0: boot record (magic, boot id) written at power-on;
/// - page 1, offset 4096: the UDP service's 64-bit request counter (little-endian);
/// - page 2, offset 8192: the neighbour cache (`NeighborCache`: which MAC each peer IP uses);
/// - pages 3..<16: reserved, zero;
/// - pages 16...: data — the power-on fill and the workload's working set start here and end where
///   the network region begins;
/// - the top of memory: the network region (`networkRegion(pageCount:)`), where the VM's TCP
///   connections and its services' data live, so a migration carries them with the rest of memory.
public enum GuestLayout {
    /// Guest offset of the boot record (magic then boot id, both 64-bit little-endian).
    public static let bootRecordOffset = 0
    /// `"L2MOTION"` as a little-endian 64-bit value: marks a guest that was powered on.
    public static let bootMagic: UInt64 = 0x4E4F_4954_4F4D_324C
    /// Guest offset of the UDP service counter (page 1).
    public static let udpCounterOffset = 4096
    /// Guest offset of the neighbour cache (page 2).
    public static let neighborCacheOffset = 8192
    /// The pages a post-copy migration sends before the VM resumes: the boot record, the UDP counter
    /// and the neighbour cache, which the network responder touches first.
    public static let hotPages = [bootRecordOffset >> 12, udpCounterOffset >> 12, neighborCacheOffset >> 12]
    /// First page the power-on fill and the workload may use.
    public static let firstDataPage = 16

    /// Pages of one TCP connection slot: its control block (1), receive buffer (4) and send ring (64:
    /// 256 KiB in flight, so one connection's download is not held to 64 KiB per round trip).
    public static let tcpSlotPages = 69
    /// The most TCP connection slots a VM has.
    public static let maximumTCPSlots = 128
    /// Pages of the services' store (key-value data, counters).
    public static let servicePages = 256
    /// Smallest VM with a network region: 16 MiB. Smaller VMs answer ARP, ICMP and UDP only.
    public static let smallestNetworkedPageCount = 4_096

    /// The network region of a VM with `pageCount` pages: at most an eighth of memory, at the top.
    public static func networkRegion(pageCount: Int) -> NetworkRegion? {
        guard pageCount >= smallestNetworkedPageCount else { return nil }
        let slots = min(maximumTCPSlots, (pageCount / 8 - servicePages - 1) / tcpSlotPages)
        guard slots > 0 else { return nil }
        let tcpPages = 1 + slots * tcpSlotPages
        let first = pageCount - servicePages - tcpPages
        return NetworkRegion(tcpPages: first..<(first + tcpPages), tcpSlots: slots,
                             servicePages: (first + tcpPages)..<pageCount)
    }

    /// The first page past the data pages (the network region's first page, or the end of memory).
    public static func dataEnd(pageCount: Int) -> Int {
        networkRegion(pageCount: pageCount)?.firstPage ?? pageCount
    }
}

/// Where a VM's network stack lives in guest memory (page ranges).
public struct NetworkRegion: Hashable, Sendable {
    /// The TCP table: one header page, then `tcpSlots` slots of `GuestLayout.tcpSlotPages` pages.
    public let tcpPages: Range<Int>
    public let tcpSlots: Int
    /// The services' store.
    public let servicePages: Range<Int>

    public var firstPage: Int { tcpPages.lowerBound }
    public var pages: Range<Int> { tcpPages.lowerBound..<servicePages.upperBound }
}
