/// The pcapng format as the switch writes it: a section header naming l2motion, one interface
/// description per switch port (its name, where it leads, nanosecond timestamps, the snaplen, the
/// capture filter), then per frame an enhanced packet block filed under the interface it was
/// recorded on, with its direction, packet id and comments, and at close a statistics block per port.
///
/// A record's header (28 bytes: type, length, interface, time, lengths) is written before the frame
/// and its options and trailing length after it, in place around the frame the ring read, in the
/// host's byte order (a pcapng reader takes the order from the section header).
public struct PcapngEncoder: CaptureEncoder {
    public let snaplen: Int
    public let interfaces: [CaptureInterface]
    /// `shb_userappl`, e.g. "l2motion 0.3.0".
    public let application: String
    /// The BPF filter the capture applies (`if_filter` on every interface), nil for none.
    public let filter: String?
    private let names: [String]

    public init(snaplen: Int, interfaces: [CaptureInterface], application: String, filter: String? = nil) {
        self.snaplen = snaplen
        self.interfaces = interfaces
        self.application = application
        self.filter = filter
        names = interfaces.map(\.name)
    }

    @inlinable public var recordHeaderLength: Int { 28 }
    /// Padding, flags (8), packet id (12), two comments, end of options (4), trailing length (4).
    public var maximumTrailerLength: Int { 3 + 8 + 12 + 2 * (4 + PcapngBlocks.maximumCommentBytes + 3) + 4 + 4 }
    public var recordsDirection: Bool { true }

    public func fileHeader() -> [UInt8] {
        PcapngBlocks.sectionHeader(application: application, os: "Linux")
            + interfaces.flatMap { PcapngBlocks.interfaceDescription($0, snaplen: snaplen, filter: filter) }
    }

    @inline(__always)
    public func encode(_ record: CaptureRecord, header: UnsafeMutableRawPointer, trailer: UnsafeMutableRawPointer) -> Int {
        let captured = record.capturedLength
        let padding = (4 - captured & 3) & 3
        var at = 0
        for _ in 0..<padding {
            trailer.storeBytes(of: 0, toByteOffset: at, as: UInt8.self)
            at += 1
        }
        trailer.storeBytes(of: PcapngBlocks.Option.epbFlags, toByteOffset: at, as: UInt16.self)
        trailer.storeBytes(of: 4, toByteOffset: at + 2, as: UInt16.self)
        trailer.storeBytes(of: record.direction.rawValue, toByteOffset: at + 4, as: UInt32.self)
        at += 8
        if record.packetID != 0 {
            trailer.storeBytes(of: PcapngBlocks.Option.epbPacketID, toByteOffset: at, as: UInt16.self)
            trailer.storeBytes(of: 8, toByteOffset: at + 2, as: UInt16.self)
            trailer.storeBytes(of: record.packetID, toByteOffset: at + 4, as: UInt64.self)
            at += 12
        }
        if !record.notes.isEmpty { at = writeComments(record.notes, trailer, at) }
        trailer.storeBytes(of: UInt32(0), toByteOffset: at, as: UInt32.self)  // opt_endofopt
        at += 4
        let total = UInt32(recordHeaderLength + captured + at + 4)
        trailer.storeBytes(of: total, toByteOffset: at, as: UInt32.self)
        at += 4
        header.storeBytes(of: PcapngBlocks.enhancedPacketType, as: UInt32.self)
        header.storeBytes(of: total, toByteOffset: 4, as: UInt32.self)
        header.storeBytes(of: UInt32(truncatingIfNeeded: record.interface), toByteOffset: 8, as: UInt32.self)
        header.storeBytes(of: UInt32(truncatingIfNeeded: record.wallNanoseconds >> 32), toByteOffset: 12, as: UInt32.self)
        header.storeBytes(of: UInt32(truncatingIfNeeded: record.wallNanoseconds), toByteOffset: 16, as: UInt32.self)
        header.storeBytes(of: UInt32(truncatingIfNeeded: captured), toByteOffset: 20, as: UInt32.self)
        header.storeBytes(of: UInt32(truncatingIfNeeded: record.originalLength), toByteOffset: 24, as: UInt32.self)
        return at
    }

    /// The rare path: each note as an `opt_comment`.
    @inline(never)
    private func writeComments(_ notes: CaptureNotes, _ trailer: UnsafeMutableRawPointer, _ start: Int) -> Int {
        var at = start
        for note in notes.all {
            let text = PcapngBlocks.cut(note.text(interfaceNames: names), to: PcapngBlocks.maximumCommentBytes)
            trailer.storeBytes(of: PcapngBlocks.Option.comment, toByteOffset: at, as: UInt16.self)
            trailer.storeBytes(of: UInt16(text.count), toByteOffset: at + 2, as: UInt16.self)
            if !text.isEmpty { text.withUnsafeBytes { (trailer + at + 4).copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
            at += 4 + text.count
            for _ in 0..<(4 - text.count & 3) & 3 {  // the value's own padding (the trailer itself starts unaligned)
                trailer.storeBytes(of: 0, toByteOffset: at, as: UInt8.self)
                at += 1
            }
        }
        return at
    }

    public func closingBytes(statistics: [CaptureStatistics], wallNanoseconds: UInt64) -> [UInt8] {
        statistics.flatMap {
            PcapngBlocks.interfaceStatistics(interface: $0.interface, wallNanoseconds: wallNanoseconds, startNanoseconds: nil,
                                             received: $0.received, dropped: $0.dropped)
        }
    }
}
