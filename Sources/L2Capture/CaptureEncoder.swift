/// Which way a recorded frame was going at the interface it is filed under: pcapng's `epb_flags`
/// direction bits (tshark's `frame.packet_flags_direction`: 1 inbound, 2 outbound).
public enum CaptureDirection: UInt32, Sendable, Hashable {
    /// The switch received the frame on this interface (its ingress port).
    case inbound = 1
    /// The switch sent this copy out of this interface (an egress record).
    case outbound = 2
}

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
    /// The interface the record is filed under, by port index (0 is the switch's first port): the
    /// ingress port of an inbound record, the egress port of an outbound copy.
    public var interface: Int
    public var direction: CaptureDirection
    /// The frame's number in the file as the switch received it: an inbound record's own frame
    /// number, which its outbound copies repeat (pcapng's `epb_packetid`). 0: none; the ring sets it.
    public var packetID: UInt64
    /// The ports the switch sent the frame to, one bit per port index (bit 0 is the first port);
    /// the ring writes an outbound copy for each when egress records are on.
    public var egressPorts: UInt64
    /// What the switch decided about the frame that is worth a comment (a move, a flood, a drop).
    public var notes: CaptureNotes
    /// False when the capture filter rejected the frame: the ring keeps nothing of it.
    public var captured: Bool

    @inlinable
    public init(wallNanoseconds: UInt64, originalLength: Int, capturedLength: Int = 0, interface: Int = 0,
                direction: CaptureDirection = .inbound, packetID: UInt64 = 0, egressPorts: UInt64 = 0,
                notes: CaptureNotes = CaptureNotes(), captured: Bool = true) {
        self.wallNanoseconds = wallNanoseconds
        self.originalLength = originalLength
        self.capturedLength = capturedLength
        self.interface = interface
        self.direction = direction
        self.packetID = packetID
        self.egressPorts = egressPorts
        self.notes = notes
        self.captured = captured
    }
}

/// One interface of a capture (a switch port): what a format that describes interfaces (pcapng's
/// interface description blocks) writes in its file header.
public struct CaptureInterface: Sendable, Hashable {
    /// The port's name (`if_name`): what tshark shows as `frame.interface_name`.
    public var name: String
    /// Where the port leads (`if_description`), e.g. "vmnic0 of host esx01".
    public var description: String?
    /// `LINKTYPE_*`; 1 is Ethernet.
    public var linkType: UInt16

    public init(name: String, description: String? = nil, linkType: UInt16 = 1) {
        self.name = name
        self.description = description
        self.linkType = linkType
    }
}

/// One interface's totals at the end of a capture: what pcapng's interface statistics block says.
public struct CaptureStatistics: Sendable, Hashable {
    /// Port index.
    public var interface: Int
    /// Frames the port received (`isb_ifrecv`).
    public var received: UInt64
    /// Frames received on the port that the switch dropped (`isb_ifdrop`).
    public var dropped: UInt64

    public init(interface: Int, received: UInt64, dropped: UInt64) {
        self.interface = interface
        self.received = received
        self.dropped = dropped
    }
}

/// Turns capture records into a file format's bytes: a file header, then per frame a record header
/// before the captured bytes and an optional trailer after them, and closing bytes at the end. The
/// record header has a fixed length, so a capture ring can read a frame straight to where its bytes
/// go and have the encoder fill the header (and trailer) in around it, in place, with no copy of
/// the frame.
///
/// `PcapEncoder` writes pcap; `PcapngEncoder` writes pcapng (section header, one interface
/// description per port, enhanced packet blocks with their options and trailing length as the
/// trailer, statistics blocks at close).
public protocol CaptureEncoder: Sendable {
    /// Frames longer than this are cut in the file (and keep their original length).
    var snaplen: Int { get }
    /// The bytes before each frame's captured bytes.
    var recordHeaderLength: Int { get }
    /// The most bytes a record may take after the captured bytes (padding, options, a trailing length).
    var maximumTrailerLength: Int { get }
    /// Whether records carry a direction, so outbound copies can be told from what came in.
    var recordsDirection: Bool { get }
    /// The file's first bytes (for pcapng: naming the capture's interfaces, the switch's ports).
    func fileHeader() -> [UInt8]
    /// Writes `record`'s header into the `recordHeaderLength` bytes at `header`, and its trailer into
    /// the bytes at `trailer` (just after the `record.capturedLength` captured bytes); returns the
    /// trailer's length (at most `maximumTrailerLength`).
    func encode(_ record: CaptureRecord, header: UnsafeMutableRawPointer, trailer: UnsafeMutableRawPointer) -> Int
    /// The file's last bytes, given each interface's totals (pcapng: statistics blocks).
    func closingBytes(statistics: [CaptureStatistics], wallNanoseconds: UInt64) -> [UInt8]
}

extension CaptureEncoder {
    public var recordsDirection: Bool { false }
    public func closingBytes(statistics: [CaptureStatistics], wallNanoseconds: UInt64) -> [UInt8] { [] }
}
