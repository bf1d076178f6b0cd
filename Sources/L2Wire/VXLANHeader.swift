/// The 8-byte VXLAN header (RFC 7348) before each frame a VXLAN tunnel carries in UDP: flags (the
/// I bit, 0x08, says the VNI is valid), 3 reserved bytes, the 24-bit VXLAN network identifier, one
/// reserved byte.
public struct VXLANHeader: Hashable, Sendable {
    public static let length = 8
    /// The I flag: the VNI field is valid. RFC 7348 has receivers drop frames without it.
    public static let vniValidFlag: UInt8 = 0x08

    public var vni: UInt32

    public init(vni: UInt32) { self.vni = vni & 0xFF_FFFF }

    /// Reads the header at the start of `bytes`: nil when it is short or lacks the I flag.
    public init?(parsing bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.length, bytes[0] & Self.vniValidFlag != 0 else { return nil }
        vni = UInt32(bytes[4]) << 16 | UInt32(bytes[5]) << 8 | UInt32(bytes[6])
    }

    /// The header's bytes.
    public var bytes: [UInt8] {
        [Self.vniValidFlag, 0, 0, 0, UInt8(truncatingIfNeeded: vni >> 16), UInt8(truncatingIfNeeded: vni >> 8), UInt8(truncatingIfNeeded: vni), 0]
    }
}
