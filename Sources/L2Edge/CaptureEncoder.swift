/// What a capture knows about one frame besides its bytes: the record a capture ring keeps and an
/// encoder turns into a file record. Plain values only (no references), so making one per frame
/// costs no reference counting.
public struct CaptureRecord: Sendable, Hashable {
    /// CLOCK_REALTIME, nanoseconds.
    public var wallNanoseconds: UInt64
    /// The frame's length on the wire.
    public var originalLength: Int
    /// The bytes kept (`originalLength` cut at the snaplen); the ring fills it in.
    public var capturedLength: Int
    /// The port the frame came in on, by index (0 is the switch's first port): the interface a
    /// per-interface format (pcapng) files it under.
    public var ingressPort: Int
    /// The ports the frame was sent to, one bit per port index (bit 0 is the first port); empty when not
    /// recorded. pcap has no place for it; pcapng can say it in an option.
    public var egressPorts: UInt64
    /// The sequence number, in the switch's event log, of the event this frame caused (a station
    /// move), 0 for none: room for a note (a pcapng comment) next to the frame.
    public var eventSequence: UInt64

    @inlinable
    public init(wallNanoseconds: UInt64, originalLength: Int, capturedLength: Int = 0, ingressPort: Int = 0,
                egressPorts: UInt64 = 0, eventSequence: UInt64 = 0) {
        self.wallNanoseconds = wallNanoseconds
        self.originalLength = originalLength
        self.capturedLength = capturedLength
        self.ingressPort = ingressPort
        self.egressPorts = egressPorts
        self.eventSequence = eventSequence
    }
}

/// One interface of a capture (a switch port): what a format that describes interfaces (pcapng's
/// interface description blocks) writes in its file header.
public struct CaptureInterface: Sendable, Hashable {
    public var name: String
    /// `LINKTYPE_*`; 1 is Ethernet.
    public var linkType: UInt16

    public init(name: String, linkType: UInt16 = 1) {
        self.name = name
        self.linkType = linkType
    }
}

/// Turns capture records into a file format's bytes: a file header, then per frame a record header
/// before the captured bytes and an optional trailer after them. The record header has a fixed
/// length, so a capture ring can read a frame straight to where its bytes go and have the encoder
/// fill the header (and trailer) in around it, in place, with no copy of the frame.
///
/// `PcapEncoder` writes pcap; pcapng (section header, one interface description per port, enhanced
/// packet blocks with their padding and trailing length as the trailer) fits the same shape.
public protocol CaptureEncoder: Sendable {
    /// Frames longer than this are cut in the file (and keep their original length).
    var snaplen: Int { get }
    /// The bytes before each frame's captured bytes.
    var recordHeaderLength: Int { get }
    /// The most bytes a record may take after the captured bytes (padding, options, a trailing length).
    var maximumTrailerLength: Int { get }
    /// The file's first bytes, given the capture's interfaces (the switch's ports, in port order).
    func fileHeader(interfaces: [CaptureInterface]) -> [UInt8]
    /// Writes `record`'s header into the `recordHeaderLength` bytes at `header`, and its trailer into
    /// the bytes at `trailer` (just after the `record.capturedLength` captured bytes); returns the
    /// trailer's length (at most `maximumTrailerLength`).
    func encode(_ record: CaptureRecord, header: UnsafeMutableRawPointer, trailer: UnsafeMutableRawPointer) -> Int
}
