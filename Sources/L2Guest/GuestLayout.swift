/// Where the guest keeps the few things the emulator itself reads or writes, so the workload and the
/// power-on fill never clobber them.
///
/// - page 0: boot record (magic, boot id) written at power-on;
/// - page 1, offset 4096: the UDP service's 64-bit request counter (little-endian);
/// - pages 2..<16: reserved, zero;
/// - pages 16...: data — the power-on fill and the workload's working set start here.
public enum GuestLayout {
    /// Guest offset of the boot record (magic then boot id, both 64-bit little-endian).
    public static let bootRecordOffset = 0
    /// `"L2MOTION"` as a little-endian 64-bit value: marks a guest that was powered on.
    public static let bootMagic: UInt64 = 0x4E4F_4954_4F4D_324C
    /// Guest offset of the UDP service counter (page 1).
    public static let udpCounterOffset = 4096
    /// First page the power-on fill and the workload may use.
    public static let firstDataPage = 16
}
