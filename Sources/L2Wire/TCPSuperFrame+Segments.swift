/// Cutting the super-frame into wire frames, one at a time into a buffer the caller owns (no
/// allocation), as Linux's software GSO does for a device without TSO (`tcp_gso_segment`).
///
/// Segment `i` is the super-frame's headers followed by payload bytes `i × segmentSize ..<
/// min((i + 1) × segmentSize, payloadLength)`, with:
/// - IPv4: total length, identification (the original's + i, wrapping) and header checksum
///   recomputed; everything else (DF, TTL, options) as in the super-frame;
/// - IPv6: payload length;
/// - TCP: sequence number advanced by the payload of the segments before; FIN and PSH only on the
///   last segment, CWR only on the first; the checksum computed in full over the pseudo-header,
///   whatever the super-frame's field held (a partial pseudo-header sum, usually).
extension TCPSuperFrame {
    /// Writes segment `index` (0..<`segmentCount`) at the start of `buffer`, which must hold
    /// `largestSegmentLength` bytes, and returns its length.
    @discardableResult
    public func writeSegment(_ index: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        precondition((0..<segmentCount).contains(index), "segment \(index) of a super-frame cut into \(segmentCount)")
        let start = index * segmentSize
        let size = min(segmentSize, payloadLength - start)
        let length = headersLength + size
        precondition(buffer.count >= length, "a \(length)-byte segment does not fit a \(buffer.count)-byte buffer")
        let out = buffer.baseAddress!, source = frame.baseAddress!
        out.copyMemory(from: source, byteCount: headersLength)
        (out + headersLength).copyMemory(from: source + headersLength + start, byteCount: size)

        let transportLength = transportHeaderLength + size
        let ip = networkOffset
        if isIPv4 {
            store(UInt16(networkHeaderLength + transportLength), at: ip + 2, in: buffer)
            store(read16(ip + 4) &+ UInt16(truncatingIfNeeded: index), at: ip + 4, in: buffer)
            store(0, at: ip + 10, in: buffer)
            store(InternetChecksum.compute(UnsafeRawBufferPointer(rebasing: buffer[ip..<transportOffset])), at: ip + 10, in: buffer)
        } else {
            store(UInt16(transportLength), at: ip + 4, in: buffer)
        }

        let tcp = transportOffset
        let sequence = read32(tcp + 4) &+ UInt32(truncatingIfNeeded: start)
        buffer.storeBytes(of: sequence.bigEndian, toByteOffset: tcp + 4, as: UInt32.self)
        var flags = TCPFlags(rawValue: frame[tcp + 13])
        if index != segmentCount - 1 { flags.subtract([.fin, .psh]) }
        if index != 0 { flags.remove(.cwr) }
        buffer[tcp + 13] = flags.rawValue
        store(0, at: tcp + Self.tcpChecksumField, in: buffer)
        var sum = InternetChecksum()
        // The pseudo-header: the addresses (IPv4's 8 bytes from offset 12, IPv6's 32 from offset 8),
        // the protocol and the TCP length (IPv6 widens both to 32 bits; the high zeros add nothing).
        let addresses = isIPv4 ? ip + 12..<ip + 20 : ip + 8..<ip + 40
        sum.add(UnsafeRawBufferPointer(rebasing: buffer[addresses]))
        sum.add(word: UInt16(Self.tcpProtocol))
        sum.add(word: UInt16(transportLength))
        sum.add(UnsafeRawBufferPointer(rebasing: buffer[tcp..<length]))
        store(sum.value, at: tcp + Self.tcpChecksumField, in: buffer)
        return length
    }

    /// Writes each segment in turn into `buffer` (which must hold `largestSegmentLength` bytes) and
    /// hands its bytes to `body` before writing the next over it.
    public func forEachSegment<Failure: Error>(into buffer: UnsafeMutableRawBufferPointer,
                                               _ body: (UnsafeRawBufferPointer) throws(Failure) -> Void) throws(Failure) {
        for index in 0..<segmentCount {
            let length = writeSegment(index, into: buffer)
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<length]))
        }
    }

    /// The super-frame's segments as arrays (tests and tools; the switch uses `forEachSegment`).
    public var segments: [[UInt8]] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: largestSegmentLength, alignment: 8)
        defer { buffer.deallocate() }
        var all: [[UInt8]] = []
        forEachSegment(into: buffer) { all.append(Array($0)) }
        return all
    }

    private func read16(_ at: Int) -> UInt16 { UInt16(frame[at]) << 8 | UInt16(frame[at + 1]) }

    private func read32(_ at: Int) -> UInt32 { UInt32(read16(at)) << 16 | UInt32(read16(at + 2)) }

    private func store(_ value: UInt16, at offset: Int, in buffer: UnsafeMutableRawBufferPointer) {
        buffer.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
    }
}
