/// The capture file formats a switch writes: pcapng (the default: a port per interface, directions,
/// comments, statistics) or pcap (one stream, as libpcap writes it).
public enum CaptureFormat: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case pcapng
    case pcap

    /// The file name extension, without the dot.
    public var fileExtension: String { rawValue }
    public var description: String { rawValue }
}

/// The encoder for a capture format, chosen when the switch starts: one concrete type for the
/// capture ring (a switch on the format per record costs less than a generic forwarding loop).
public enum FileEncoder: CaptureEncoder {
    case pcap(PcapEncoder)
    case pcapng(PcapngEncoder)

    /// The encoder for `format`; `interfaces` are the switch's ports in port order.
    public init(format: CaptureFormat, snaplen: Int, interfaces: [CaptureInterface], application: String, filter: String?) {
        switch format {
        case .pcap: self = .pcap(PcapEncoder(snaplen: snaplen))
        case .pcapng: self = .pcapng(PcapngEncoder(snaplen: snaplen, interfaces: interfaces, application: application, filter: filter))
        }
    }

    public var snaplen: Int {
        switch self {
        case let .pcap(encoder): encoder.snaplen
        case let .pcapng(encoder): encoder.snaplen
        }
    }

    public var recordHeaderLength: Int {
        switch self {
        case let .pcap(encoder): encoder.recordHeaderLength
        case let .pcapng(encoder): encoder.recordHeaderLength
        }
    }

    public var maximumTrailerLength: Int {
        switch self {
        case let .pcap(encoder): encoder.maximumTrailerLength
        case let .pcapng(encoder): encoder.maximumTrailerLength
        }
    }

    public var recordsDirection: Bool {
        switch self {
        case .pcap: false
        case .pcapng: true
        }
    }

    public func fileHeader() -> [UInt8] {
        switch self {
        case let .pcap(encoder): encoder.fileHeader()
        case let .pcapng(encoder): encoder.fileHeader()
        }
    }

    @inline(__always)
    public func encode(_ record: CaptureRecord, header: UnsafeMutableRawPointer, trailer: UnsafeMutableRawPointer) -> Int {
        switch self {
        case let .pcap(encoder): encoder.encode(record, header: header, trailer: trailer)
        case let .pcapng(encoder): encoder.encode(record, header: header, trailer: trailer)
        }
    }

    public func closingBytes(statistics: [CaptureStatistics], wallNanoseconds: UInt64) -> [UInt8] {
        switch self {
        case let .pcap(encoder): encoder.closingBytes(statistics: statistics, wallNanoseconds: wallNanoseconds)
        case let .pcapng(encoder): encoder.closingBytes(statistics: statistics, wallNanoseconds: wallNanoseconds)
        }
    }
}
