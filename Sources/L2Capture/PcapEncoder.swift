/// The pcap format as libpcap's `pcap_dump` writes it for a nanosecond capture: a 24-byte file
/// header (magic `0xa1b23c4d`, version 2.4, the snaplen, LINKTYPE_ETHERNET), then per frame a 16-byte
/// record header (seconds, nanoseconds, captured length, original length) and the captured bytes, in
/// the host's byte order. pcap has one link type per file and no interface names: every port's frames
/// go into the one stream, and the record's ports, direction and notes are not written.
public struct PcapEncoder: CaptureEncoder {
    public static let magicNanoseconds: UInt32 = 0xa1b2_3c4d
    public static let linkTypeEthernet: UInt32 = 1

    public let snaplen: Int

    public init(snaplen: Int) { self.snaplen = snaplen }

    @inlinable public var recordHeaderLength: Int { 16 }
    @inlinable public var maximumTrailerLength: Int { 0 }

    public func fileHeader() -> [UInt8] {
        var header = [UInt8]()
        header.reserveCapacity(24)
        func append<T>(_ value: T) { withUnsafeBytes(of: value) { header += $0 } }
        append(Self.magicNanoseconds)
        append(UInt16(2))
        append(UInt16(4))
        append(Int32(0))  // thiszone
        append(UInt32(0))  // sigfigs
        append(UInt32(snaplen))
        append(Self.linkTypeEthernet)
        return header
    }

    @inlinable @inline(__always)
    public func encode(_ record: CaptureRecord, header: UnsafeMutableRawPointer, trailer: UnsafeMutableRawPointer) -> Int {
        header.storeBytes(of: UInt32(truncatingIfNeeded: record.wallNanoseconds / 1_000_000_000), as: UInt32.self)
        header.storeBytes(of: UInt32(truncatingIfNeeded: record.wallNanoseconds % 1_000_000_000), toByteOffset: 4, as: UInt32.self)
        header.storeBytes(of: UInt32(truncatingIfNeeded: record.capturedLength), toByteOffset: 8, as: UInt32.self)
        header.storeBytes(of: UInt32(truncatingIfNeeded: record.originalLength), toByteOffset: 12, as: UInt32.self)
        return 0
    }
}
