import L2Capture
import L2Control
import L2Edge
import L2Switch
import L2Wire
#if canImport(Glibc)
import Glibc
#endif

/// What the forwarding thread works with, set up once before its loop: each port's `FrameChannel`,
/// the buffer a frame is read into when it is not read straight into the capture ring, and the ports
/// a pass sent unicast frames to (their answers are often queued already). Taken apart from the
/// loop's per-frame path so a frame touches as little memory as possible after the thread wakes.
///
/// Every packet buffer has the same layout whatever the ingress port: `headroom` bytes for a
/// virtio-net header, then the frame. A port with offload metadata reads its header into the
/// headroom; for one without, the header is plain (`VirtioNetHeader.plain`) when some port takes
/// headers. So the same bytes go to either kind of egress port: from the buffer's start to a port
/// with offloads, from the frame's start to one without.
struct ForwardingPath {
    /// Each port's channel, by port index; the ports keep their descriptors open while the loop runs.
    let channels: UnsafeMutableBufferPointer<FrameChannel>
    let ring: CaptureRing<FileEncoder>?
    /// The capture filter, asked about each frame before the ring keeps it.
    let filter: PacketFilter?
    /// The capture keeps notes (pcapng comments) on the decisions worth one.
    let annotates: Bool
    /// Room before every frame for its virtio-net header.
    static let headroom = VirtioNetHeader.length
    /// Some port takes or reads offload metadata (a TAP with offloads, an attached interface, a VXLAN
    /// tunnel): frames from ports without it get a plain header, and a re-tagged copy's header moves
    /// with its payload (`encode`).
    let anyPortCarriesHeaders: Bool
    let buffer: UnsafeMutableRawBufferPointer
    let answered: UnsafeMutableBufferPointer<Bool>
    /// The descriptors `poll` waits on: one per port (the same order), then `alsoPolled`.
    let pollSet: UnsafeMutableBufferPointer<pollfd>
    /// Passes in a row on which each port reported an error (its device is gone): such a port
    /// is left out of the poll set rather than waking the loop on every pass.
    let failingPasses: UnsafeMutableBufferPointer<Int>
    /// Where a frame's other 802.1Q form is built (its tag pushed or popped), when some port is
    /// VLAN-aware: a frame goes out in at most two forms, as received and this one, so a flood
    /// builds it at most once, however many ports want it. The received bytes stay as they are:
    /// they are the capture's record.
    let variant: UnsafeMutableRawBufferPointer?
    /// The ports whose descriptor to poll changes (QEMU stream ports: the listening socket, then the
    /// connection) and which may hold whole frames already read (several came in one read).
    let streamPorts: [(index: Int, session: Unmanaged<QEMUStreamSession>)]
    /// Where a super-frame bound for a port without offloads is cut into wire frames, one at a time
    /// (software segmentation, `SwitchDaemon.transmitSegments`).
    let segmentBuffer: UnsafeMutableRawBufferPointer
    /// The longest wire frame a port may carry: the largest MTU's IP packet behind an Ethernet header
    /// and two 802.1Q tags.
    static let segmentCapacity = PortSpec.maximumMTU + 14 + 2 * VLANTagging.tagLength

    init(ports: [any SwitchPort], capture: SegmentCapture, alsoPolled: [Int32], vlanAware: Bool) {
        channels = .allocate(capacity: ports.count)
        _ = channels.initialize(from: ports.map(\.channel))
        ring = capture.ring
        filter = capture.filter
        annotates = capture.ring?.encoder.recordsDirection ?? false
        anyPortCarriesHeaders = ports.contains { $0.channel.acceptsOffloads || $0.channel.readsHeader }
        // A GSO super-frame is up to 64 KiB of IP plus its Ethernet header and the virtio-net header.
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 128 * 1024, alignment: 64)
        variant = vlanAware ? UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count + VLANTagging.tagLength, alignment: 64) : nil
        segmentBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.segmentCapacity, alignment: 64)
        answered = UnsafeMutableBufferPointer<Bool>.allocate(capacity: ports.count)
        answered.initialize(repeating: false)
        pollSet = .allocate(capacity: ports.count + alsoPolled.count)
        _ = pollSet.initialize(from: (channels.map(\.pollDescriptor) + alsoPolled).map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) })
        streamPorts = channels.enumerated().compactMap { index, channel in
            if case let .stream(session) = channel.framing { return (index, session) }
            return nil
        }
        failingPasses = .allocate(capacity: ports.count)
        failingPasses.initialize(repeating: 0)
    }

    /// Closes this thread's copies of every polled descriptor (a port left out of the poll set
    /// included). Only for a thread with a private descriptor table: elsewhere it would close the
    /// process's own.
    func closePrivateCopies() {
        for channel in channels { close(channel.descriptor) }
        for entry in pollSet[channels.count...] { close(entry.fd) }
    }

    /// `packet` (`headroom` bytes of virtio-net header, then the frame) in the form `encoding` asks
    /// for, built in `variant`: the tag pushed or popped, and the header's checksum start and
    /// header length moved with the payload. `.keep` returns `packet` itself.
    func encode(_ packet: UnsafeRawBufferPointer, _ encoding: EgressEncoding) -> UnsafeRawBufferPointer {
        guard let variant else { return packet }
        let headroom = Self.headroom
        let frame = UnsafeRawBufferPointer(rebasing: packet[headroom...])
        let room = UnsafeMutableRawBufferPointer(rebasing: variant[headroom...])
        let length: Int
        switch encoding {
        case .keep: return packet
        case let .push(vlan): length = VLANTagging.push(VLANTag(vid: vlan), from: frame, into: room)
        case .pop: length = VLANTagging.pop(from: frame, into: room)
        }
        if anyPortCarriesHeaders, let header = try? VirtioNetHeader(parsing: packet) {
            header.shifted(by: length - frame.count).write(to: variant)
        }
        return UnsafeRawBufferPointer(rebasing: variant[0..<headroom + length])
    }

    /// Closes the QEMU connections this thread accepted (whatever its descriptor table).
    func closeStreamConnections() {
        for stream in streamPorts { stream.session.takeUnretainedValue().closeConnection() }
    }

    /// After a pass: points each stream port's poll entry at what it waits on now, and says whether
    /// one holds whole frames already read (then the next `poll` must not sleep, and those ports are
    /// drained as if they were readable: `markBuffered`).
    func refreshStreams() -> Bool {
        var buffered = false
        for stream in streamPorts {
            let session = stream.session.takeUnretainedValue()
            pollSet[stream.index].fd = pollSet[stream.index].fd < 0 ? -1 : session.pollDescriptor
            buffered = buffered || session.hasBufferedFrame
        }
        return buffered
    }

    /// Marks readable the stream ports that hold whole frames already read.
    func markBuffered() {
        for stream in streamPorts where stream.session.takeUnretainedValue().hasBufferedFrame {
            pollSet[stream.index].revents |= Int16(POLLIN)
        }
    }

    func release() {
        channels.deallocate()
        buffer.deallocate()
        variant?.deallocate()
        segmentBuffer.deallocate()
        answered.deallocate()
        pollSet.deallocate()
        failingPasses.deallocate()
    }
}
