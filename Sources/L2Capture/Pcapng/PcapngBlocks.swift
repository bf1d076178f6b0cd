/// The pcapng block and option codes l2motion writes and reads (draft-ietf-opsawg-pcapng), and
/// builders for whole blocks in the host's byte order. A block is: type, total length, body, the
/// total length again; every part is padded to 4 bytes; options are code, length, value, padding,
/// ended by `opt_endofopt`.
public enum PcapngBlocks {
    public static let sectionHeaderType: UInt32 = 0x0A0D_0D0A
    public static let interfaceDescriptionType: UInt32 = 1
    public static let enhancedPacketType: UInt32 = 6
    public static let interfaceStatisticsType: UInt32 = 5
    public static let byteOrderMagic: UInt32 = 0x1A2B_3C4D

    /// Option codes, by block.
    public enum Option {
        public static let endOfOptions: UInt16 = 0
        public static let comment: UInt16 = 1
        public static let shbHardware: UInt16 = 2
        public static let shbOS: UInt16 = 3
        public static let shbUserApplication: UInt16 = 4
        public static let ifName: UInt16 = 2
        public static let ifDescription: UInt16 = 3
        public static let ifTimestampResolution: UInt16 = 9
        public static let ifFilter: UInt16 = 11
        public static let epbFlags: UInt16 = 2
        public static let epbDropCount: UInt16 = 4
        public static let epbPacketID: UInt16 = 5
        public static let isbStartTime: UInt16 = 2
        public static let isbEndTime: UInt16 = 3
        public static let isbReceived: UInt16 = 4
        public static let isbDropped: UInt16 = 5
    }

    /// The longest comment written on a packet; longer text is cut at a character boundary.
    public static let maximumCommentBytes = 200

    /// A section header block: byte-order magic, version 1.0, section length unknown (-1).
    public static func sectionHeader(application: String, os: String? = nil, comment: String? = nil) -> [UInt8] {
        var body = Writer()
        body.append(byteOrderMagic)
        body.append(UInt16(1))
        body.append(UInt16(0))
        body.append(Int64(-1))
        var options = Options()
        if let comment { options.text(Option.comment, comment) }
        options.text(Option.shbUserApplication, application)
        if let os { options.text(Option.shbOS, os) }
        return block(sectionHeaderType, body.bytes + options.finished)
    }

    /// An interface description block with nanosecond timestamps.
    public static func interfaceDescription(_ interface: CaptureInterface, snaplen: Int, filter: String?) -> [UInt8] {
        var body = Writer()
        body.append(interface.linkType)
        body.append(UInt16(0))
        body.append(UInt32(snaplen))
        var options = Options()
        options.text(Option.ifName, interface.name)
        if let description = interface.description { options.text(Option.ifDescription, description) }
        options.raw(Option.ifTimestampResolution, [9])
        if let filter, !filter.isEmpty { options.raw(Option.ifFilter, [0] + Array(filter.utf8)) }
        return block(interfaceDescriptionType, body.bytes + options.finished)
    }

    /// An enhanced packet block carrying `bytes` (already cut at the snaplen).
    public static func enhancedPacket(interface: Int, wallNanoseconds: UInt64, originalLength: Int, bytes: [UInt8],
                                      direction: CaptureDirection?, packetID: UInt64?, comments: [String]) -> [UInt8] {
        var body = Writer()
        body.append(UInt32(interface))
        body.append(UInt32(truncatingIfNeeded: wallNanoseconds >> 32))
        body.append(UInt32(truncatingIfNeeded: wallNanoseconds))
        body.append(UInt32(bytes.count))
        body.append(UInt32(originalLength))
        body.bytes += bytes
        body.pad()
        var options = Options()
        if let direction { options.value(Option.epbFlags, direction.rawValue) }
        if let packetID { options.value(Option.epbPacketID, packetID) }
        for comment in comments { options.text(Option.comment, comment) }
        return block(enhancedPacketType, body.bytes + options.finished)
    }

    /// An interface statistics block: received and dropped counts at `wallNanoseconds` (a count that
    /// is nil is left out).
    public static func interfaceStatistics(interface: Int, wallNanoseconds: UInt64, startNanoseconds: UInt64?,
                                           received: UInt64?, dropped: UInt64?) -> [UInt8] {
        var body = Writer()
        body.append(UInt32(interface))
        body.append(UInt32(truncatingIfNeeded: wallNanoseconds >> 32))
        body.append(UInt32(truncatingIfNeeded: wallNanoseconds))
        var options = Options()
        if let startNanoseconds { options.timestamp(Option.isbStartTime, startNanoseconds) }
        options.timestamp(Option.isbEndTime, wallNanoseconds)
        if let received { options.value(Option.isbReceived, received) }
        if let dropped { options.value(Option.isbDropped, dropped) }
        return block(interfaceStatisticsType, body.bytes + options.finished)
    }

    /// Wraps `body` (a multiple of 4 bytes) as a block of `type`.
    static func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
        var block = Writer()
        let total = UInt32(12 + body.count)
        block.append(type)
        block.append(total)
        block.bytes += body
        block.append(total)
        return block.bytes
    }

    /// `text` as UTF-8, cut to at most `limit` bytes without splitting a character.
    public static func cut(_ text: String, to limit: Int) -> [UInt8] {
        let utf8 = Array(text.utf8)
        guard utf8.count > limit else { return utf8 }
        var end = limit
        while end > 0 && utf8[end] & 0xC0 == 0x80 { end -= 1 }  // back to the start of a character
        return Array(utf8[..<end])
    }

    /// Bytes in the host's byte order.
    struct Writer {
        var bytes: [UInt8] = []
        mutating func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value) { bytes += $0 } }
        mutating func pad() { while bytes.count % 4 != 0 { bytes.append(0) } }
    }

    /// An options list being built; `finished` ends it with `opt_endofopt`.
    struct Options {
        private var writer = Writer()
        private(set) var any = false

        mutating func raw(_ code: UInt16, _ value: [UInt8]) {
            let value = value.count > Int(UInt16.max) ? Array(value.prefix(Int(UInt16.max))) : value
            writer.append(code)
            writer.append(UInt16(value.count))
            writer.bytes += value
            writer.pad()
            any = true
        }
        mutating func text(_ code: UInt16, _ value: String) {
            raw(code, PcapngBlocks.cut(value, to: code == Option.comment ? maximumCommentBytes : Int(UInt16.max)))
        }
        mutating func value<T: FixedWidthInteger>(_ code: UInt16, _ value: T) {
            raw(code, withUnsafeBytes(of: value) { Array($0) })
        }
        /// A timestamp option: high 32 bits, then low 32 bits, in the interface's resolution.
        mutating func timestamp(_ code: UInt16, _ nanoseconds: UInt64) {
            var value = Writer()
            value.append(UInt32(truncatingIfNeeded: nanoseconds >> 32))
            value.append(UInt32(truncatingIfNeeded: nanoseconds))
            raw(code, value.bytes)
        }
        var finished: [UInt8] {
            guard any else { return [] }
            var ended = writer
            ended.append(Option.endOfOptions)
            ended.append(UInt16(0))
            return ended.bytes
        }
    }
}
