import Testing
@testable import L2Wire

@Suite("TCP segmentation of GSO super-frames")
struct TCPSegmentationTests {
    /// Checks every segment against what the kernel's software GSO would send, field by field, and
    /// that their payloads, joined, are the super-frame's.
    static func check(_ segments: [[UInt8]], against spec: SuperFrameSpec, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expectedCount = max(1, (spec.payloadLength + spec.segmentSize - 1) / spec.segmentSize)
        #expect(segments.count == expectedCount, sourceLocation: sourceLocation)
        let original = spec.frame
        let l2 = spec.l2Length
        var joined: [UInt8] = []
        for (index, segment) in segments.enumerated() {
            let last = index == segments.count - 1
            let size = last ? spec.payloadLength - index * spec.segmentSize : spec.segmentSize
            #expect(segment.count == spec.headersLength + size, "segment \(index)", sourceLocation: sourceLocation)
            #expect(segment[0..<l2] == original[0..<l2], "the Ethernet header and tags are the super-frame's", sourceLocation: sourceLocation)
            let tcp: TCPSegment
            if spec.ipv6 {
                let ip = segment[l2...]
                #expect(ip.u16(at: 4) == UInt16(spec.tcpHeaderLength + size), "IPv6 payload length", sourceLocation: sourceLocation)
                #expect(ip.sub(0, 4) == original[l2..<l2 + 4] && ip.sub(6, 34) == original[l2 + 6..<l2 + 40], sourceLocation: sourceLocation)
                tcp = try TCPSegment(ip.from(40))
                var sum = InternetChecksum()
                sum.add(ip.sub(8, 32))
                sum.add(word: 6)
                sum.add(word: UInt16(tcp.bytes.count))
                sum.add(tcp.bytes)
                #expect(sum.value == 0, "TCP checksum over the IPv6 pseudo-header, segment \(index)", sourceLocation: sourceLocation)
            } else {
                let ip = try IPv4Packet(segment[l2...])
                #expect(ip.bytes.count == segment.count - l2, "IPv4 total length", sourceLocation: sourceLocation)
                #expect(ip.isChecksumValid, "IPv4 header checksum, segment \(index)", sourceLocation: sourceLocation)
                #expect(ip.identification == spec.identification &+ UInt16(index), sourceLocation: sourceLocation)
                #expect(ip.dontFragment && !ip.moreFragments && ip.ttl == 64 && Array(ip.options) == spec.ipOptions, sourceLocation: sourceLocation)
                tcp = try TCPSegment(ip.payload)
                #expect(tcp.isChecksumValid(source: ip.source, destination: ip.destination), "TCP checksum, segment \(index)",
                        sourceLocation: sourceLocation)
            }
            #expect(tcp.sequenceNumber == spec.sequence &+ UInt32(index * spec.segmentSize), sourceLocation: sourceLocation)
            #expect(tcp.acknowledgmentNumber == spec.acknowledgment && tcp.window == 502, sourceLocation: sourceLocation)
            #expect(Array(tcp.options) == spec.tcpOptions, sourceLocation: sourceLocation)
            #expect(tcp.flags.contains(.fin) == (last && spec.flags.contains(.fin)), "FIN on the last only", sourceLocation: sourceLocation)
            #expect(tcp.flags.contains(.psh) == (last && spec.flags.contains(.psh)), "PSH on the last only", sourceLocation: sourceLocation)
            #expect(tcp.flags.contains(.cwr) == (index == 0 && spec.flags.contains(.cwr)), "CWR on the first only", sourceLocation: sourceLocation)
            let others: TCPFlags = [.fin, .psh, .cwr]
            #expect(tcp.flags.subtracting(others) == spec.flags.subtracting(others), sourceLocation: sourceLocation)
            joined += tcp.payload
        }
        #expect(joined == spec.payload, "the payloads joined are the super-frame's", sourceLocation: sourceLocation)
    }

    @Test("golden bytes: 10 payload bytes in segments of 4 (checksums computed independently, in Python)")
    func golden() throws {
        let superFrame = Golden.hex("""
            005056000010 005056000064 0800
            4500 0032 1c46 4000 40 06 09ff 0a0a0064 0a0a000a
            9c40 1f40 000003e8 000007d0 50 99 01f6 14a6 0000
            6c326d6f74696f6e2121
            """)
        let header = VirtioNetHeader(flags: 1, segmentationType: 0x81, headerLength: 54, segmentSize: 4,
                                     checksumStart: 34, checksumOffset: 16)
        let expected = [
            Golden.hex("005056000010 005056000064 0800 4500 002c 1c46 4000 40 06 0a05 0a0a0064 0a0a000a"
                       + "9c40 1f40 000003e8 000007d0 50 90 01f6 f7fe 0000 6c326d6f"),
            Golden.hex("005056000010 005056000064 0800 4500 002c 1c47 4000 40 06 0a04 0a0a0064 0a0a000a"
                       + "9c40 1f40 000003ec 000007d0 50 10 01f6 ee44 0000 74696f6e"),
            Golden.hex("005056000010 005056000064 0800 4500 002a 1c48 4000 40 06 0a05 0a0a0064 0a0a000a"
                       + "9c40 1f40 000003f0 000007d0 50 19 01f6 b0f0 0000 2121"),
        ]
        #expect(try SuperFrameSpec.segments(of: superFrame, header: header) == expected)
        // The builder makes the same super-frame, so the other tests start from what was checked here.
        let spec = SuperFrameSpec(tcpOptions: [], flags: [.fin, .psh, .ack, .cwr], payloadLength: 10, segmentSize: 4)
        #expect(spec.frame.prefix(54) == superFrame.prefix(54))
    }

    @Test("an IPv4 super-frame of 64 KiB: 46 segments, the id and the sequence number wrapping on the way")
    func ipv4() throws {
        let spec = SuperFrameSpec(ipOptions: [1, 1, 1, 0], identification: 0xfff0, sequence: 0xffff_8000,
                                  flags: [.ack, .psh, .fin, .cwr], payloadLength: 65_535 - 24 - 32)
        let segments = try spec.segments()
        #expect(segments.count == 46 && segments.last?.count == spec.headersLength + (spec.payloadLength - 45 * 1448))
        try Self.check(segments, against: spec)
    }

    @Test("an IPv6 super-frame: payload length per segment, checksum over the IPv6 pseudo-header")
    func ipv6() throws {
        let spec = SuperFrameSpec(ipv6: true, flags: [.ack, .psh, .cwr, .ece], payloadLength: 20_000, segmentSize: 1428)
        let segments = try spec.segments()
        #expect(segments.count == 15)
        try Self.check(segments, against: spec)
    }

    @Test("802.1Q-tagged super-frames (one tag, two) keep their tags in every segment",
          arguments: [[UInt16(10)], [100, 20]], [false, true])
    func tagged(tags: [UInt16], ipv6: Bool) throws {
        let spec = SuperFrameSpec(tags: tags, ipv6: ipv6, payloadLength: 5000, segmentSize: 1400)
        let segments = try spec.segments()
        #expect(segments.count == 4)
        try Self.check(segments, against: spec)
    }

    @Test("a payload that is an exact multiple of the segment size: every segment full")
    func exactMultiple() throws {
        let spec = SuperFrameSpec(payloadLength: 3 * 1448)
        let segments = try spec.segments()
        #expect(segments.map(\.count) == [1514, 1514, 1514])
        try Self.check(segments, against: spec)
    }

    @Test("a super-frame whose payload fits one segment (or is empty) is one frame, its checksum completed",
          arguments: [0, 1, 100, 1448])
    func oneSegment(payload: Int) throws {
        let spec = SuperFrameSpec(flags: [.ack, .psh, .fin, .cwr], payloadLength: payload)
        let segments = try spec.segments()
        try #require(segments.count == 1)
        try Self.check(segments, against: spec)
        // Only the TCP checksum differs from the super-frame (IPv4's was correct already).
        let checksum = spec.l2Length + 20 + 16
        var withPartial = segments[0]
        withPartial.replaceSubrange(checksum..<checksum + 2, with: spec.frame[checksum..<checksum + 2])
        #expect(withPartial == spec.frame)
    }

    @Test("hdr_len is a hint: 0, or anything from the headers to the end of the frame, is accepted",
          arguments: [0, 66, 67, 66 + 3000])
    func headerLengthHint(hint: Int) throws {
        let spec = SuperFrameSpec(payloadLength: 3000)
        var header = spec.header
        header.headerLength = UInt16(hint)
        try Self.check(SuperFrameSpec.segments(of: spec.frame, header: header), against: spec)
    }

    @Test("the segments come one at a time into the caller's buffer; the super-frame's bytes stay as they were")
    func forEachSegmentIntoBuffer() throws {
        let spec = SuperFrameSpec(payloadLength: 4000)
        let frame = spec.frame
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1514, alignment: 8)
        defer { buffer.deallocate() }
        var lengths: [Int] = []
        var starts: Set<UnsafeRawPointer?> = []
        try frame.withUnsafeBytes { bytes in
            let superFrame = try TCPSuperFrame(bytes, header: spec.header)
            #expect(superFrame.segmentCount == 3 && superFrame.largestSegmentLength == 1514)
            #expect(superFrame.headersLength == 66 && superFrame.payloadLength == 4000 && superFrame.transportOffset == 34)
            superFrame.forEachSegment(into: buffer) { segment in
                lengths.append(segment.count)
                starts.insert(segment.baseAddress)
            }
        }
        #expect(lengths == [1514, 1514, 66 + 4000 - 2 * 1448])
        #expect(starts == [UnsafeRawPointer(buffer.baseAddress)])
        #expect(frame == spec.frame)
    }

    /// A small IPv4 super-frame (66 bytes of headers, 3000 of payload) made wrong one way.
    static func broken(_ change: (inout [UInt8], inout VirtioNetHeader) -> Void) -> TCPSegmentationError? {
        let spec = SuperFrameSpec(payloadLength: 3000)
        var frame = spec.frame, header = spec.header
        change(&frame, &header)
        do {
            _ = try SuperFrameSpec.segments(of: frame, header: header)
            return nil
        } catch {
            return error
        }
    }

    @Test("headers that do not describe the frame are errors, named")
    func rejected() {
        #expect(Self.broken { _, header in header.segmentationType = 0 } == .notTCPSegmentation(segmentationType: 0))
        #expect(Self.broken { _, header in header.segmentationType = 3 } == .notTCPSegmentation(segmentationType: 3))
        #expect(Self.broken { _, header in header.segmentationType = 2 } == .notTCPSegmentation(segmentationType: 2))
        #expect(Self.broken { _, header in header.segmentSize = 0 } == .noSegmentSize)
        #expect(Self.broken { _, header in header.segmentationType = 4 } == .wrongNetwork(expected: .ipv6, found: .ipv4))
        #expect(Self.broken { frame, _ in frame[12] = 0x08; frame[13] = 0x06 } == .wrongNetwork(expected: .ipv4, found: .arp))
        #expect(Self.broken { frame, _ in frame[14] = 0x65 } == .malformed(.invalidField(layer: "IPv4", field: "version", value: 6)))
        #expect(Self.broken { frame, _ in frame[14] = 0x44 } == .malformed(.invalidField(layer: "IPv4", field: "IHL", value: 4)))
        #expect(Self.broken { frame, _ in frame[16] = 0xff } == .malformed(.truncated(layer: "IPv4", needed: 0xffec, available: 3052)))
        #expect(Self.broken { frame, _ in frame[16] = 0; frame[17] = 19 } == .malformed(.invalidField(layer: "IPv4", field: "total length", value: 19)))
        #expect(Self.broken { frame, _ in frame[20] |= 0x20 } == .fragment)
        #expect(Self.broken { frame, _ in frame[21] = 1 } == .fragment)
        #expect(Self.broken { frame, _ in frame[23] = 17 } == .notTCP(protocolNumber: 17, ipv6: false))
        #expect(Self.broken { frame, _ in frame[46] = 0x40 } == .malformed(.invalidField(layer: "TCP", field: "data offset", value: 4)))
        #expect(Self.broken { frame, _ in frame.removeLast(2990); frame[16] = 0; frame[17] = 40 }
                == .malformed(.truncated(layer: "TCP", needed: 32, available: 20)))
        #expect(Self.broken { _, header in header.checksumStart = 30 } == .headerDisagrees(field: "csum_start", header: 30, frame: 34))
        #expect(Self.broken { _, header in header.checksumOffset = 6 } == .headerDisagrees(field: "csum_offset", header: 6, frame: 16))
        #expect(Self.broken { _, header in header.headerLength = 54 } == .headerDisagrees(field: "hdr_len", header: 54, frame: 66))
        #expect(Self.broken { frame, header in header.headerLength = UInt16(frame.count + 1) }
                == .headerDisagrees(field: "hdr_len", header: 3067, frame: 66))
    }

    @Test("IPv6 with an extension header, or a payload length beyond the frame, is refused")
    func ipv6Rejected() throws {
        let spec = SuperFrameSpec(ipv6: true, payloadLength: 3000)
        var hopByHop = spec.frame
        hopByHop[20] = 0
        #expect(throws: TCPSegmentationError.notTCP(protocolNumber: 0, ipv6: true)) {
            try SuperFrameSpec.segments(of: hopByHop, header: spec.header)
        }
        var long = spec.frame
        long[18] = 0xff
        #expect(throws: TCPSegmentationError.malformed(.truncated(layer: "IPv6", needed: 40 + 0xffd8, available: 40 + 3032))) {
            try SuperFrameSpec.segments(of: long, header: spec.header)
        }
        var v4 = spec.frame
        v4[14] = 0x40
        #expect(throws: TCPSegmentationError.malformed(.invalidField(layer: "IPv6", field: "version", value: 4))) {
            try SuperFrameSpec.segments(of: v4, header: spec.header)
        }
    }

    @Test("every truncation of a super-frame is an error, never a crash", arguments: 0..<(14 + 4 + 20 + 32 + 10))
    func truncated(length: Int) {
        for spec in [SuperFrameSpec(tags: [7], payloadLength: 10), SuperFrameSpec(tags: [7], ipv6: true, payloadLength: 10)] {
            let frame = Array(spec.frame.prefix(length))
            #expect(throws: TCPSegmentationError.self) { try SuperFrameSpec.segments(of: frame, header: spec.header) }
        }
    }

    @Test("Ethernet padding after the IP packet is not payload")
    func paddingIgnored() throws {
        let spec = SuperFrameSpec(payloadLength: 2000)
        let segments = try SuperFrameSpec.segments(of: spec.frame + [0, 0, 0, 0], header: spec.header)
        try Self.check(segments, against: spec)
    }

    @Test("errors say what was wrong")
    func descriptions() {
        #expect(TCPSegmentationError.headerDisagrees(field: "csum_start", header: 30, frame: 34).description
                == "the virtio-net header's csum_start is 30 but the frame's headers say 34")
        #expect(TCPSegmentationError.notTCP(protocolNumber: 0, ipv6: true).description
                == "IPv6 next header 0 is not TCP: super-frames with extension headers are not segmented")
        #expect(TCPSegmentationError.wrongNetwork(expected: .ipv6, found: .ipv4).description
                == "gso_type asks for TCP over IPv6 but the frame carries IPv4; the header must name the frame's IP version")
        #expect(TCPSegmentationError.malformed(.truncated(layer: "TCP", needed: 20, available: 4)).description
                == "the super-frame's headers are not a TCP packet: TCP: truncated, needs 20 bytes, has 4")
    }
}
