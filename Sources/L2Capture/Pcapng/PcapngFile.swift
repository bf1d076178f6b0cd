/// A pcapng capture read into memory: its interfaces, packets (with direction, packet id and
/// comments) and interface statistics, across all its sections. Reads either byte order and any
/// `if_tsresol`; blocks it does not know (name resolution, simple packets, custom blocks) are skipped
/// and counted. For reports, tests and `l2motion annotate`; not for the data path.
public struct PcapngFile: Sendable, Hashable {
    /// One interface description, numbered across sections in file order.
    public struct Interface: Sendable, Hashable {
        public var name: String?
        public var description: String?
        public var linkType: UInt16
        public var snaplen: UInt32
        public var filter: String?
        /// Timestamp units per second (10^9 for nanoseconds; 10^6 when the block does not say).
        public var unitsPerSecond: UInt64
    }

    /// One enhanced packet block.
    public struct Packet: Sendable, Hashable {
        /// 1-based, as Wireshark numbers frames (every packet block counts, whatever its direction).
        public var number: UInt64
        /// Index into `interfaces`.
        public var interface: Int
        public var wallNanoseconds: UInt64
        public var originalLength: Int
        public var bytes: [UInt8]
        public var direction: CaptureDirection?
        public var packetID: UInt64?
        public var comments: [String]
        /// Packets lost between the one before and this one (`epb_dropcount`), when said.
        public var dropCount: UInt64? = nil
    }

    /// One interface statistics block.
    public struct Statistics: Sendable, Hashable {
        public var interface: Int
        public var wallNanoseconds: UInt64
        public var received: UInt64?
        public var dropped: UInt64?
    }

    public var application: String?
    public var interfaces: [Interface] = []
    public var packets: [Packet] = []
    public var statistics: [Statistics] = []
    /// Blocks of kinds this reader does not interpret.
    public var skippedBlocks = 0
    /// Bytes at the end that do not make a whole block, left unread (only when parsing allowed it).
    public var truncatedTailBytes = 0

    public init() {}

    /// Whether `bytes` start like a pcapng file (a section header block).
    public static func isPcapng(_ bytes: some Collection<UInt8>) -> Bool {
        Array(bytes.prefix(4)) == [0x0A, 0x0D, 0x0D, 0x0A]
    }

    /// Parses a whole file; the error names the block and offset that are wrong. With
    /// `allowingTruncatedTail`, a last block cut short (a file a running switch is still writing) ends
    /// the parse instead, and `truncatedTailBytes` says how much was left unread.
    public init(parsing bytes: [UInt8], allowingTruncatedTail: Bool = false) throws(CaptureFormatError) {
        let parsed = bytes.withUnsafeBytes { buffer in
            Result { () throws(CaptureFormatError) in
                try PcapngFile(parsing: buffer, allowingTruncatedTail: allowingTruncatedTail, keeping: nil)
            }
        }
        self = try parsed.get()
    }

    /// Parses a file in memory (a mapped file: nothing is copied but the packets kept), keeping only
    /// the packets `keeping` accepts (given each packet's direction and captured bytes; nil keeps
    /// all). Packets keep their numbers in the file whether or not the ones before them were kept.
    public init(parsing bytes: UnsafeRawBufferPointer, allowingTruncatedTail: Bool = false,
                keeping: ((_ direction: CaptureDirection?, _ frame: UnsafeRawBufferPointer) -> Bool)?) throws(CaptureFormatError) {
        var reader = BlockReader(bytes: bytes)
        var sectionBase = 0  // index of this section's first interface in `interfaces`
        var packetCount: UInt64 = 0
        guard Self.isPcapng(bytes) else { throw CaptureFormatError("not a pcapng file: it does not start with a section header block") }
        while reader.offset < bytes.count {
            let start = reader.offset
            if allowingTruncatedTail && !reader.wholeBlockAhead {
                truncatedTailBytes = bytes.count - start
                break
            }
            let type = try reader.peekType()
            if type == PcapngBlocks.sectionHeaderType {
                try reader.startSection()
                sectionBase = interfaces.count
            }
            let block = try reader.nextBlock()
            switch type {
            case PcapngBlocks.sectionHeaderType:
                let options = try block.options(from: 16)
                if let text = options.text(PcapngBlocks.Option.shbUserApplication) { application = text }
            case PcapngBlocks.interfaceDescriptionType:
                try block.need(8, at: start)
                let options = try block.options(from: 8)
                var units: UInt64 = 1_000_000
                if let resolution = options.raw(PcapngBlocks.Option.ifTimestampResolution)?.first {
                    let exponent = UInt64(resolution & 0x7F), binary = resolution & 0x80 != 0
                    guard exponent <= (binary ? 63 : 19) else {
                        throw CaptureFormatError("interface \(interfaces.count - sectionBase) at offset \(start): if_tsresol \(binary ? "2" : "10")^-\(exponent) is finer than 64-bit timestamps can count")
                    }
                    units = binary ? 1 << exponent : Self.power(of: 10, exponent)
                }
                let filter = options.raw(PcapngBlocks.Option.ifFilter).flatMap { $0.first == 0 ? String(decoding: $0.dropFirst(), as: UTF8.self) : nil }
                interfaces.append(Interface(name: options.text(PcapngBlocks.Option.ifName),
                                            description: options.text(PcapngBlocks.Option.ifDescription),
                                            linkType: block.u16(0), snaplen: block.u32(4), filter: filter, unitsPerSecond: units))
            case PcapngBlocks.enhancedPacketType:
                try block.need(20, at: start)
                let interface = sectionBase + Int(block.u32(0))
                guard interfaces.indices.contains(interface) else {
                    throw CaptureFormatError("packet block at offset \(start) names interface \(block.u32(0)), which the section does not describe")
                }
                let captured = Int(block.u32(12))
                try block.need(20 + captured, at: start)
                let options = try block.options(from: 20 + (captured + 3) & ~3)
                packetCount += 1
                let direction = options.u32(PcapngBlocks.Option.epbFlags).flatMap { CaptureDirection(rawValue: $0 & 3) }
                let frame = UnsafeRawBufferPointer(rebasing: block.body[20..<20 + captured])
                if let keeping, !keeping(direction, frame) { continue }
                packets.append(Packet(number: packetCount, interface: interface,
                                      wallNanoseconds: nanoseconds(block.u32(4), block.u32(8), interface),
                                      originalLength: Int(block.u32(16)), bytes: Array(frame),
                                      direction: direction,
                                      packetID: options.u64(PcapngBlocks.Option.epbPacketID),
                                      comments: options.all(PcapngBlocks.Option.comment).map { String(decoding: $0, as: UTF8.self) },
                                      dropCount: options.u64(PcapngBlocks.Option.epbDropCount)))
            case PcapngBlocks.interfaceStatisticsType:
                try block.need(12, at: start)
                let interface = sectionBase + Int(block.u32(0))
                guard interfaces.indices.contains(interface) else {
                    throw CaptureFormatError("statistics block at offset \(start) names interface \(block.u32(0)), which the section does not describe")
                }
                let options = try block.options(from: 12)
                statistics.append(Statistics(interface: interface, wallNanoseconds: nanoseconds(block.u32(4), block.u32(8), interface),
                                             received: options.u64(PcapngBlocks.Option.isbReceived),
                                             dropped: options.u64(PcapngBlocks.Option.isbDropped)))
            default:
                skippedBlocks += 1
            }
        }
    }

    private func nanoseconds(_ high: UInt32, _ low: UInt32, _ interface: Int) -> UInt64 {
        let units = UInt64(high) << 32 | UInt64(low)
        let perSecond = interfaces[interface].unitsPerSecond
        if perSecond == 1_000_000_000 { return units }
        // units × 10^9 / perSecond in 128 bits; a time past what 64-bit nanoseconds hold saturates.
        let product = units.multipliedFullWidth(by: 1_000_000_000)
        guard product.high < perSecond else { return .max }
        return perSecond.dividingFullWidth(product).quotient
    }

    private static func power(of base: UInt64, _ exponent: UInt64) -> UInt64 {
        (0..<min(exponent, 19)).reduce(1) { result, _ in result * base }
    }
}

/// A capture file that cannot be read as what it claims to be.
public struct CaptureFormatError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
