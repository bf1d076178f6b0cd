import L2Wire

/// A TCP GSO super-frame for the segmentation tests, described by its fields, built as the kernel
/// hands one to a TAP with `IFF_VNET_HDR`: Ethernet (with any 802.1Q tags), IPv4 or IPv6, TCP with
/// its options and a partial checksum, then the whole payload; and its virtio-net header.
struct SuperFrameSpec {
    var tags: [UInt16] = []
    var ipv6 = false
    var ipOptions: [UInt8] = []
    /// NOP, NOP, timestamps: the 12 bytes Linux puts in every segment of a stream.
    var tcpOptions: [UInt8] = [1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78]
    var identification: UInt16 = 0x1c46
    var sequence: UInt32 = 1000
    var acknowledgment: UInt32 = 2000
    var flags: TCPFlags = [.ack, .psh]
    var payloadLength: Int
    var segmentSize = 1448

    static let source4 = IPv4Address(10, 10, 0, 100), destination4 = IPv4Address(10, 10, 0, 10)
    static let source6: [UInt8] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x64]
    static let destination6: [UInt8] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a]

    var l2Length: Int { 14 + 4 * tags.count }
    var ipHeaderLength: Int { ipv6 ? 40 : 20 + ipOptions.count }
    var tcpHeaderLength: Int { 20 + tcpOptions.count }
    var headersLength: Int { l2Length + ipHeaderLength + tcpHeaderLength }

    /// Bytes that differ from their neighbours and repeat only every 251, so a misplaced one shows.
    var payload: [UInt8] { (0..<payloadLength).map { UInt8($0 % 251) } }

    var frame: [UInt8] {
        var frame = Golden.vmMAC.bytes + Golden.peerMAC.bytes
        for tag in tags { frame += [0x81, 0x00, UInt8(tag >> 8), UInt8(tag & 0xff)] }
        frame += ipv6 ? [0x86, 0xdd] : [0x08, 0x00]
        let transportLength = tcpHeaderLength + payloadLength
        if ipv6 {
            frame += [0x60, 0, 0, 0] + be16(transportLength) + [6, 64] + Self.source6 + Self.destination6
        } else {
            let total = ipHeaderLength + transportLength
            var ip = [0x40 | UInt8(ipHeaderLength / 4), 0] + be16(total) + be16(Int(identification)) + [0x40, 0, 64, 6, 0, 0]
            ip += Self.source4.bytes + Self.destination4.bytes + ipOptions
            let checksum = InternetChecksum.compute(ip)
            ip[10] = UInt8(checksum >> 8)
            ip[11] = UInt8(checksum & 0xff)
            frame += ip
        }
        // The checksum field holds what the kernel leaves there: the pseudo-header's sum (IPv4), or
        // anything (IPv6; it must be ignored).
        let partial = ipv6 ? 0xbeef
            : Int(InternetChecksum.pseudoHeader(source: Self.source4, destination: Self.destination4, protocol: .tcp,
                                                length: UInt16(truncatingIfNeeded: transportLength)).foldedSum)
        frame += [0x9c, 0x40, 0x1f, 0x40] + be32(sequence) + be32(acknowledgment)
        frame += [UInt8(tcpHeaderLength / 4) << 4, flags.rawValue, 0x01, 0xf6] + be16(partial) + [0, 0] + tcpOptions
        return frame + payload
    }

    var header: VirtioNetHeader {
        VirtioNetHeader(flags: VirtioNetHeader.needsChecksumFlag, segmentationType: ipv6 ? 4 : 1,
                        headerLength: UInt16(headersLength), segmentSize: UInt16(segmentSize),
                        checksumStart: UInt16(l2Length + ipHeaderLength), checksumOffset: 16)
    }

    /// The frame's segments, cut by `TCPSuperFrame`.
    func segments() throws(TCPSegmentationError) -> [[UInt8]] {
        try Self.segments(of: frame, header: header)
    }

    static func segments(of frame: [UInt8], header: VirtioNetHeader) throws(TCPSegmentationError) -> [[UInt8]] {
        let result: Result<[[UInt8]], TCPSegmentationError> = frame.withUnsafeBytes { bytes in
            do throws(TCPSegmentationError) { return .success(try TCPSuperFrame(bytes, header: header).segments) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private func be16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }
    private func be32(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }
}
