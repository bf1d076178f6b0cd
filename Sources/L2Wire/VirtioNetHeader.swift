/// The 10-byte `struct virtio_net_hdr` a TAP opened with `IFF_VNET_HDR` puts before every frame
/// (little-endian on the hosts Linux runs this on). It carries the two offloads the kernel and a
/// virtual switch hand each other instead of doing the work per packet:
///
/// - **checksum** (`needsChecksum`): the transport checksum is not filled in yet; the field at
///   `checksumStart + checksumOffset` holds the pseudo-header sum, and whoever delivers the frame
///   must sum from `checksumStart` to the end and store the complement there;
/// - **segmentation** (`segmentation != .none`): the frame is a GSO super-frame of up to 64 KiB that
///   stands for several wire frames, each carrying at most `segmentSize` bytes of TCP (or UDP) payload.
///
/// Layout: flags (u8), gso_type (u8), hdr_len (u16), gso_size (u16), csum_start (u16), csum_offset (u16).
public struct VirtioNetHeader: Hashable, Sendable {
    /// `VIRTIO_NET_HDR_GSO_*`: which segmentation the super-frame needs (the ECN bit kept apart).
    public enum Segmentation: UInt8, Sendable {
        case none = 0
        case tcpIPv4 = 1
        case udp = 3
        case tcpIPv6 = 4
        case udpL4 = 5
    }

    public static let length = 10
    /// `VIRTIO_NET_HDR_F_NEEDS_CSUM`.
    public static let needsChecksumFlag: UInt8 = 1
    /// `VIRTIO_NET_HDR_F_DATA_VALID`: the receiver may skip verifying the checksum.
    public static let dataValidFlag: UInt8 = 2
    /// `VIRTIO_NET_HDR_GSO_ECN`.
    static let ecnBit: UInt8 = 0x80

    public var flags: UInt8
    public var segmentationType: UInt8
    public var headerLength: UInt16
    public var segmentSize: UInt16
    public var checksumStart: UInt16
    public var checksumOffset: UInt16

    /// A header that asks for nothing: a plain frame.
    public static let plain = VirtioNetHeader(flags: 0, segmentationType: 0, headerLength: 0, segmentSize: 0,
                                              checksumStart: 0, checksumOffset: 0)

    public init(flags: UInt8, segmentationType: UInt8, headerLength: UInt16, segmentSize: UInt16,
                checksumStart: UInt16, checksumOffset: UInt16) {
        self.flags = flags
        self.segmentationType = segmentationType
        self.headerLength = headerLength
        self.segmentSize = segmentSize
        self.checksumStart = checksumStart
        self.checksumOffset = checksumOffset
    }

    /// Reads the header from the first 10 bytes of `bytes`.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(WireError) {
        guard bytes.count >= Self.length else {
            throw .truncated(layer: "virtio-net header", needed: Self.length, available: bytes.count)
        }
        func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
        self.init(flags: bytes[0], segmentationType: bytes[1], headerLength: u16(2), segmentSize: u16(4),
                  checksumStart: u16(6), checksumOffset: u16(8))
    }

    /// Writes the header into the first 10 bytes of `bytes` (which must hold at least 10).
    public func write(to bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.length)
        bytes[0] = flags
        bytes[1] = segmentationType
        bytes.storeBytes(of: headerLength.littleEndian, toByteOffset: 2, as: UInt16.self)
        bytes.storeBytes(of: segmentSize.littleEndian, toByteOffset: 4, as: UInt16.self)
        bytes.storeBytes(of: checksumStart.littleEndian, toByteOffset: 6, as: UInt16.self)
        bytes.storeBytes(of: checksumOffset.littleEndian, toByteOffset: 8, as: UInt16.self)
    }

    public var needsChecksum: Bool { flags & Self.needsChecksumFlag != 0 }

    /// The segmentation asked for, or nil for a type this codec does not know.
    public var segmentation: Segmentation? { Segmentation(rawValue: segmentationType & ~Self.ecnBit) }

    public var isSuperFrame: Bool { segmentationType & ~Self.ecnBit != Segmentation.none.rawValue }

    /// Why this header cannot describe `frame` (the Ethernet frame after it), or nil when it can:
    /// an unknown segmentation type, a super-frame without a segment size or a partial checksum, or a
    /// checksum position outside the frame. A switch drops such frames instead of passing them on.
    public func problem(with frame: UnsafeRawBufferPointer) -> String? {
        guard let segmentation else { return "unknown segmentation type \(segmentationType)" }
        if needsChecksum {
            let field = Int(checksumStart) + Int(checksumOffset)
            guard Int(checksumStart) >= 14, field + 2 <= frame.count else {
                return "checksum at \(checksumStart)+\(checksumOffset) lies outside the \(frame.count)-byte frame"
            }
        }
        if segmentation != .none {
            guard segmentSize > 0 else { return "super-frame without a segment size" }
            guard needsChecksum else { return "super-frame without a partial checksum" }
        }
        return nil
    }

    /// The longest frame on the wire this frame stands for: the frame itself, or for a super-frame,
    /// its headers (up to the end of the transport header) plus one full segment. Used for the MTU check.
    /// Call only when `problem(with:)` is nil.
    public func largestWireFrame(of frame: UnsafeRawBufferPointer) -> Int {
        guard isSuperFrame else { return frame.count }
        let transport = Int(checksumStart)
        var transportHeader = 8  // UDP
        if segmentation == .tcpIPv4 || segmentation == .tcpIPv6, transport + 12 < frame.count {
            transportHeader = Int(frame[transport + 12] >> 4) * 4
        }
        return min(frame.count, transport + transportHeader + Int(segmentSize))
    }

    /// Fills in a partial checksum the way a NIC would: sums `frame` from `checksumStart` to its end
    /// (the field already holds the pseudo-header sum) and stores the complement. Returns the header to
    /// pass on: the checksum flag cleared and `dataValidFlag` set. A super-frame is left alone (each of
    /// its segments gets its own checksum when it is cut). Call only when `problem(with:)` is nil.
    public func completingChecksum(in frame: UnsafeMutableRawBufferPointer) -> VirtioNetHeader {
        guard needsChecksum, !isSuperFrame else { return self }
        let start = Int(checksumStart)
        let field = start + Int(checksumOffset)
        var sum = InternetChecksum()
        sum.add(UnsafeRawBufferPointer(rebasing: frame[start...]))
        var value = sum.value
        // UDP sends 0 as "no checksum", so a computed 0 goes on the wire as 0xffff (RFC 768); for TCP
        // the two are the same number in ones' complement. The kernel does this for every protocol.
        if value == 0 { value = 0xFFFF }
        frame[field] = UInt8(value >> 8)
        frame[field + 1] = UInt8(truncatingIfNeeded: value)
        var passed = self
        passed.flags = (flags & ~Self.needsChecksumFlag) | Self.dataValidFlag
        passed.checksumStart = 0
        passed.checksumOffset = 0
        return passed
    }
}
