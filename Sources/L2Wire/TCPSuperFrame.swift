/// A TCP GSO super-frame, its layout read from its own headers and checked once against its
/// virtio-net header: what a device without TCP segmentation offload needs to cut it into wire
/// frames in software, as the kernel does (`TCPSuperFrame+Segments.swift` writes them).
///
/// ```
/// | dst | src | [802.1Q tag] [802.1Q tag] | type | IPv4 or IPv6 | TCP | payload (up to 64 KiB)
/// |<-------------------------- headersLength ------------------------>|
/// ```
///
/// The headers' real lengths come from the frame (Ethernet with up to two tags, IHL, data offset);
/// the virtio-net header must agree with them: its type names the frame's IP version, `csum_start`
/// (when a partial checksum is asked for) is where TCP starts and `csum_offset` is TCP's checksum
/// field, and `hdr_len` (when set) is at least the headers and at most the frame. IPv4 options and
/// TCP options are copied into every segment; IPv6 extension headers and IPv4 fragments are refused.
/// Bytes after the IP packet's own length (Ethernet padding) are not payload.
///
/// A view: it keeps `frame`, which must stay valid and unchanged while the view is used.
public struct TCPSuperFrame {
    /// The Ethernet frame, virtio-net header not included.
    public let frame: UnsafeRawBufferPointer
    /// IPv4 (gso_type TCPv4) or IPv6 (TCPv6).
    public let isIPv4: Bool
    /// Where the IP header starts: 14, or 18 or 22 behind one or two 802.1Q tags.
    public let networkOffset: Int
    /// Where the TCP header starts.
    public let transportOffset: Int
    /// Ethernet, IP and TCP headers, options included: the bytes every segment starts with.
    public let headersLength: Int
    /// TCP payload bytes in the super-frame.
    public let payloadLength: Int
    /// gso_size: at most this many payload bytes per segment.
    public let segmentSize: Int

    /// The number of wire frames: one per `segmentSize` bytes of payload, and at least one (a
    /// super-frame whose payload fits in one segment, or has none, becomes a single frame).
    public var segmentCount: Int { max(1, (payloadLength + segmentSize - 1) / segmentSize) }

    /// The longest segment in bytes: the room a buffer needs for `writeSegment`.
    public var largestSegmentLength: Int { headersLength + min(segmentSize, payloadLength) }

    /// The length of the IP header, options included (40 for IPv6).
    var networkHeaderLength: Int { transportOffset - networkOffset }
    /// The length of the TCP header, options included.
    var transportHeaderLength: Int { headersLength - transportOffset }

    static let ipv4HeaderLength = 20
    static let ipv6HeaderLength = 40
    static let tcpHeaderLength = 20
    static let tcpChecksumField = 16
    static let tcpProtocol: UInt8 = 6

    /// Reads `frame`'s headers and checks `header` against them. Throws what is wrong with either;
    /// never traps.
    public init(_ frame: UnsafeRawBufferPointer, header: VirtioNetHeader) throws(TCPSegmentationError) {
        let expected: EtherType
        switch header.segmentation {
        case .tcpIPv4: expected = .ipv4
        case .tcpIPv6: expected = .ipv6
        default: throw .notTCPSegmentation(segmentationType: header.segmentationType)
        }
        guard header.segmentSize > 0 else { throw .noSegmentSize }
        func u16(_ at: Int) -> Int { Int(frame[at]) << 8 | Int(frame[at + 1]) }

        // Up to two 802.1Q tags. Seen from 4 bytes on, a tagged frame has its inner tag (if any) where
        // the outer one was, so the same check finds both.
        guard frame.count >= 14 else { throw .malformed(.truncated(layer: "Ethernet", needed: 14, available: frame.count)) }
        let firstType = VLANTagging.tagOffset, lastType = firstType + 2 * VLANTagging.tagLength
        var typeOffset = firstType
        while typeOffset < lastType, VLANTagging.isTagged(UnsafeRawBufferPointer(rebasing: frame[(typeOffset - firstType)...])) {
            typeOffset += VLANTagging.tagLength
        }
        let found = EtherType(rawValue: UInt16(u16(typeOffset)))
        guard found == expected else { throw .wrongNetwork(expected: expected, found: found) }
        let network = typeOffset + 2
        let available = frame.count - network

        let networkHeader: Int, packetEnd: Int
        if expected == .ipv4 {
            let layer = "IPv4"
            guard available >= Self.ipv4HeaderLength else {
                throw .malformed(.truncated(layer: layer, needed: Self.ipv4HeaderLength, available: available))
            }
            let version = Int(frame[network] >> 4), ihl = Int(frame[network] & 0x0F)
            guard version == 4 else { throw .malformed(.invalidField(layer: layer, field: "version", value: version)) }
            guard ihl >= 5 else { throw .malformed(.invalidField(layer: layer, field: "IHL", value: ihl)) }
            networkHeader = ihl * 4
            let totalLength = u16(network + 2)
            guard totalLength >= networkHeader else { throw .malformed(.invalidField(layer: layer, field: "total length", value: totalLength)) }
            guard totalLength <= available else { throw .malformed(.truncated(layer: layer, needed: totalLength, available: available)) }
            guard u16(network + 6) & 0x3FFF == 0 else { throw .fragment }
            guard frame[network + 9] == Self.tcpProtocol else { throw .notTCP(protocolNumber: frame[network + 9], ipv6: false) }
            packetEnd = network + totalLength
        } else {
            let layer = "IPv6"
            guard available >= Self.ipv6HeaderLength else {
                throw .malformed(.truncated(layer: layer, needed: Self.ipv6HeaderLength, available: available))
            }
            let version = Int(frame[network] >> 4)
            guard version == 6 else { throw .malformed(.invalidField(layer: layer, field: "version", value: version)) }
            networkHeader = Self.ipv6HeaderLength
            let packetLength = networkHeader + u16(network + 4)
            guard packetLength <= available else { throw .malformed(.truncated(layer: layer, needed: packetLength, available: available)) }
            guard frame[network + 6] == Self.tcpProtocol else { throw .notTCP(protocolNumber: frame[network + 6], ipv6: true) }
            packetEnd = network + packetLength
        }

        let transport = network + networkHeader
        let segmentBytes = packetEnd - transport
        guard segmentBytes >= Self.tcpHeaderLength else {
            throw .malformed(.truncated(layer: "TCP", needed: Self.tcpHeaderLength, available: segmentBytes))
        }
        let dataOffset = Int(frame[transport + 12] >> 4)
        guard dataOffset >= 5 else { throw .malformed(.invalidField(layer: "TCP", field: "data offset", value: dataOffset)) }
        guard dataOffset * 4 <= segmentBytes else { throw .malformed(.truncated(layer: "TCP", needed: dataOffset * 4, available: segmentBytes)) }
        let headers = transport + dataOffset * 4

        if header.needsChecksum {
            guard Int(header.checksumStart) == transport else {
                throw .headerDisagrees(field: "csum_start", header: Int(header.checksumStart), frame: transport)
            }
            guard Int(header.checksumOffset) == Self.tcpChecksumField else {
                throw .headerDisagrees(field: "csum_offset", header: Int(header.checksumOffset), frame: Self.tcpChecksumField)
            }
        }
        // hdr_len is a hint (Linux sends the length of the frame's linear part): it must cover the
        // headers and stay inside the frame.
        let hint = Int(header.headerLength)
        guard hint == 0 || (headers...frame.count).contains(hint) else {
            throw .headerDisagrees(field: "hdr_len", header: hint, frame: headers)
        }

        self.frame = frame
        isIPv4 = expected == .ipv4
        networkOffset = network
        transportOffset = transport
        headersLength = headers
        payloadLength = packetEnd - headers
        segmentSize = Int(header.segmentSize)
    }
}
