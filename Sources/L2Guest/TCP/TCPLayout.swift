/// Where the TCP table lives in guest memory (`NetworkRegion.tcpPages`).
///
/// Header page (byte offsets within it, every field a little-endian 64-bit word):
/// - 0: magic `"L2MTCP01"` (the table was initialised);
/// - 8, 16: the ISN key (RFC 6528's secret), derived from the boot record when the table is
///   initialised, so it migrates with the VM and needs no randomness outside guest memory;
/// - 24: the boot id the table was initialised under (another boot id empties the table);
/// - 64 + 8 × slot: the slot's 4-tuple hash (0: free) — the index a lookup scans, so finding a
///   connection touches only this page and that connection's slot;
/// - 1088 + 8 × slot: the slot's state (`TCPConnectionState.rawValue`);
/// - 2112 + 8 × slot: the slot's creation time (guest clock), to evict the oldest half-open one.
///
/// Slot `s` starts at page `tcpPages.lowerBound + 1 + 69 × s`: page 0 the control block
/// (`TCPControlBlock`), pages 1...4 the receive buffer (unread input from its first byte), pages
/// 5...68 the send ring (unacknowledged then unsent output).
struct TCPLayout {
    static let magic: UInt64 = 0x3130_5043_544D_324C // "L2MTCP01"
    static let keyOffset = 8
    static let bootIDOffset = 24
    static let hashesOffset = 64
    static let statesOffset = 64 + 8 * 128
    static let createdOffset = 64 + 16 * 128

    static let controlBlockPages = 1
    static let receivePages = TCPTuning.receiveBufferBytes / GuestMemory.pageSize
    static let sendPages = TCPTuning.sendRingBytes / GuestMemory.pageSize

    let region: NetworkRegion

    init(region: NetworkRegion) {
        precondition(region.tcpSlots <= GuestLayout.maximumTCPSlots, "the header page indexes at most 128 slots")
        precondition(Self.controlBlockPages + Self.receivePages + Self.sendPages == GuestLayout.tcpSlotPages,
                     "slot layout does not match GuestLayout.tcpSlotPages")
        self.region = region
    }

    var slotCount: Int { region.tcpSlots }
    var headerPage: Int { region.tcpPages.lowerBound }
    var header: Int { headerPage << GuestMemory.pageShift }

    func hashOffset(_ slot: Int) -> Int { header + Self.hashesOffset + 8 * slot }
    func stateOffset(_ slot: Int) -> Int { header + Self.statesOffset + 8 * slot }
    func createdOffset(_ slot: Int) -> Int { header + Self.createdOffset + 8 * slot }

    func firstPage(ofSlot slot: Int) -> Int { headerPage + 1 + GuestLayout.tcpSlotPages * slot }
    func pages(ofSlot slot: Int) -> Range<Int> {
        firstPage(ofSlot: slot)..<(firstPage(ofSlot: slot) + GuestLayout.tcpSlotPages)
    }
    func controlBlock(_ slot: Int) -> Int { firstPage(ofSlot: slot) << GuestMemory.pageShift }
    func receiveBuffer(_ slot: Int) -> Int { (firstPage(ofSlot: slot) + Self.controlBlockPages) << GuestMemory.pageShift }
    func sendRing(_ slot: Int) -> Int {
        (firstPage(ofSlot: slot) + Self.controlBlockPages + Self.receivePages) << GuestMemory.pageShift
    }

    /// The services' store as guest byte offsets.
    var serviceBytes: Range<Int> {
        (region.servicePages.lowerBound << GuestMemory.pageShift)..<(region.servicePages.upperBound << GuestMemory.pageShift)
    }
}
