/// Why a GSO super-frame could not be cut into wire frames (`TCPSuperFrame`): its virtio-net header
/// does not ask for TCP segmentation, the frame's own headers are not a TCP packet the segmenter can
/// cut, or the header and the frame disagree about where things are. A switch drops such a frame
/// (`bad_offload`) rather than guess.
public enum TCPSegmentationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The header's gso_type is not TCP over IPv4 or IPv6 (none, UDP, or unknown).
    case notTCPSegmentation(segmentationType: UInt8)
    /// gso_size is 0.
    case noSegmentSize
    /// The frame's headers are truncated or hold a value no TCP/IP packet has.
    case malformed(WireError)
    /// gso_type names one IP version and the frame carries `found` (the other, or not IP at all).
    case wrongNetwork(expected: EtherType, found: EtherType)
    /// An IPv4 fragment (more-fragments set or a fragment offset): it cannot be a TCP super-frame.
    case fragment
    /// The IP packet does not carry TCP right after its header: the IPv4 protocol or the IPv6 next
    /// header is `protocolNumber` (IPv6 extension headers are not cut).
    case notTCP(protocolNumber: UInt8, ipv6: Bool)
    /// A virtio-net header field (`csum_start`, `csum_offset`, `hdr_len`) holds `header` where the
    /// frame's own headers say `frame`.
    case headerDisagrees(field: String, header: Int, frame: Int)

    public var description: String {
        switch self {
        case let .notTCPSegmentation(type):
            "gso_type \(type) is not TCP segmentation (TCPv4 is 1, TCPv6 4, either with 0x80 for ECN); only TCP super-frames are cut in software"
        case .noSegmentSize:
            "gso_size is 0: a super-frame must say how many payload bytes go in each segment"
        case let .malformed(error):
            "the super-frame's headers are not a TCP packet: \(error)"
        case let .wrongNetwork(expected, found):
            "gso_type asks for TCP over \(expected) but the frame carries \(found); the header must name the frame's IP version"
        case .fragment:
            "an IPv4 fragment (more-fragments set or a fragment offset) cannot be a TCP super-frame"
        case let .notTCP(number, ipv6):
            ipv6 ? "IPv6 next header \(number) is not TCP: super-frames with extension headers are not segmented"
                 : "IPv4 protocol \(number) is not TCP"
        case let .headerDisagrees(field, header, frame):
            "the virtio-net header's \(field) is \(header) but the frame's headers say \(frame)"
        }
    }
}
