import Foundation
import L2Control
import L2Capture
import L2Edge
import L2Switch
import L2Wire
import Logging
import Synchronization

/// Everything a switch process is started with.
public struct SwitchSettings: Sendable {
    public var name: String
    public var ports: [PortSpec]
    public var captureDirectory: String
    public var snaplen: Int
    public var captureFilter: String?
    public var perPortCaptures: Bool
    public var agingSeconds: Double
    public var tableCapacity: Int
    /// A station seen on its port less than this long ago does not move (vde_switch's hold-down;
    /// 0, the default: it moves on its first frame elsewhere, as on a Linux bridge).
    public var moveHoldDownSeconds: Double = 0
    /// Moves within `flapWindowSeconds` that make a station a flapper (an event); 0: no detection.
    public var flapMoves = MACTable.Configuration.defaultFlapMoves
    public var flapWindowSeconds = Double(MACTable.Configuration.defaultFlapWindow) / 1e9
    public var controlSocket: String
    /// The longest the forwarding thread keeps polling without sleeping after it forwarded frames: the
    /// upper bound of its adaptive window (`PollWindow`), which opens only while frames keep coming
    /// within it. 0, the default, turns polling off (always sleep in `poll`): on two cores the polling
    /// thread takes CPU the capture writer and the namespaces' own stacks need, and a capturing
    /// switch moves less TCP with it, not more (see docs/BENCHMARKS.md).
    public var busyPollNanoseconds: UInt64 = 0
    /// Pass checksum and TCP segmentation offloads between ports (`IFF_VNET_HDR`, `TUNSETOFFLOAD`):
    /// 64 KiB super-frames cross the switch as one frame. Off: every frame is MTU-sized.
    public var offloads = true
    /// Write the segment capture. Only benchmarks turn this off, to measure what capturing costs.
    public var captures = true
    /// pcapng (a port per interface, directions, comments, statistics) or pcap.
    public var captureFormat: CaptureFormat = .pcapng
    /// Also record each copy the switch sends, on its egress port (pcapng only; first 128 bytes).
    public var egressRecords = false

    public init(name: String, ports: [PortSpec], captureDirectory: String, snaplen: Int = 262_144,
                captureFilter: String? = nil, perPortCaptures: Bool = false, agingSeconds: Double = 300,
                tableCapacity: Int = 8192, controlSocket: String) {
        self.name = name
        self.ports = ports
        self.captureDirectory = captureDirectory
        self.snaplen = snaplen
        self.captureFilter = captureFilter
        self.perPortCaptures = perPortCaptures
        self.agingSeconds = agingSeconds
        self.tableCapacity = tableCapacity
        self.controlSocket = controlSocket
    }

    public var capturePath: String { "\(captureDirectory)/\(name).\(captureFormat.fileExtension)" }
    public func portCapturePath(_ port: PortSpec) -> String { "\(captureDirectory)/\(name)-\(port.name).pcap" }
}

/// A running userspace learning switch: its ports (TAPs, or any `SwitchPort`), the forwarding loop,
/// the segment capture and the control socket. `run()` blocks until SIGINT/SIGTERM, then removes what
/// it created.
public final class SwitchDaemon: Sendable {
    public let settings: SwitchSettings
    private let ports: SwitchPorts
    private let core: Mutex<SwitchCore>
    private let capture: SegmentCapture
    /// The capture ring, nil when the switch writes no capture.
    var captureRing: CaptureRing<FileEncoder>? { capture.ring }
    private let portCaptures: [PcapWriter?]
    private let stopping = Atomic<Bool>(false)
    /// Wakes the forwarding loop once a second for aging and capture flushing, so it can otherwise
    /// sleep in `poll` with no timeout (an idle switch costs nothing).
    private let housekeeping: WakeDescriptor
    /// Signalled on SIGINT/SIGTERM to wake the forwarding loop at once.
    private let stopEvent: WakeDescriptor
    let logger: Logger

    /// Validates the settings, creates the capture files, then the ports, each of its kind: TAPs (their
    /// kernel sides in the ports' namespaces), attached interfaces, QEMU sockets, VXLAN tunnels
    /// (`SwitchPortFactory`). Nothing is left behind if any step fails.
    public convenience init(settings: SwitchSettings, logger: Logger) throws {
        try SwitchPortFactory.preflight(settings.ports)
        try self.init(settings: settings, logger: logger) {
            try SwitchPortFactory.make(settings.ports, tapPrefix: "l2s\(getpid() % 100_000)x", offloads: settings.offloads)
        }
    }

    /// A switch over ports made by `makePorts`, one per `settings.ports` entry in the same order (their
    /// specs give the names and MTUs; namespaces are not looked at): socket pairs in tests, later other
    /// kinds. Creates the capture files first and the ports last, as the switch always has (the
    /// capture ring's blocks are allocated before the ports' setup runs).
    init(settings: SwitchSettings, logger: Logger, ports makePorts: () throws -> [any SwitchPort]) throws {
        try Self.validate(settings)
        try FileManager.default.createDirectory(atPath: settings.captureDirectory, withIntermediateDirectories: true)
        self.settings = settings
        self.logger = logger
        if settings.captures {
            let expression = settings.captureFilter.flatMap { $0.isEmpty ? nil : $0 }
            let filter = try expression.map { try PacketFilter($0, snaplen: settings.snaplen) }
            let interfaces = settings.ports.map { CaptureInterface(name: $0.name, description: $0.captureDescription) }
            let encoder = FileEncoder(format: settings.captureFormat, snaplen: settings.snaplen, interfaces: interfaces,
                                      application: Product.nameAndVersion, filter: expression)
            let ring = try CaptureRing(sink: FileCaptureSink(path: settings.capturePath), encoder: encoder,
                                       egressSnaplen: settings.egressRecords ? CaptureRing<FileEncoder>.maximumEgressSnaplen : 0)
            capture = .ring(ring, filter: filter)
        } else {
            capture = .disabled
        }
        portCaptures = try settings.ports.map { port in
            settings.perPortCaptures ? try PcapWriter(path: settings.portCapturePath(port), snaplen: settings.snaplen) : nil
        }
        var switchCore = SwitchCore(configuration: .init(macTable: .init(
            capacity: settings.tableCapacity, agingTime: UInt64(settings.agingSeconds * 1e9),
            moveHoldDown: UInt64(settings.moveHoldDownSeconds * 1e9), flapMoves: settings.flapMoves,
            flapWindow: UInt64(settings.flapWindowSeconds * 1e9))))
        for (index, port) in settings.ports.enumerated() {
            try switchCore.addPort(PortID(index + 1), port.portConfiguration)
        }
        core = Mutex(switchCore)
        housekeeping = try WakeDescriptor.every(milliseconds: 1000)
        stopEvent = try WakeDescriptor.event()
        let ports = try makePorts()
        precondition(ports.count == settings.ports.count, "one port per port spec")
        self.ports = SwitchPorts(ports)
    }

    private static func validate(_ settings: SwitchSettings) throws {
        try validatePorts(settings.ports)
        guard (1...10_000_000).contains(settings.tableCapacity) else {
            throw ConfigurationError("table capacity \(settings.tableCapacity) is out of range; use 1...10000000")
        }
        guard settings.agingSeconds > 0 else { throw ConfigurationError("aging time must be positive, got \(settings.agingSeconds) s") }
        try Limits.moveHoldDown.check(settings.moveHoldDownSeconds)
        try Limits.flapMoves.check(settings.flapMoves)
        try Limits.flapWindow.check(settings.flapWindowSeconds)
        guard !settings.egressRecords || settings.captureFormat == .pcapng else {
            throw ConfigurationError("egress records need pcapng (pcap has no directions); drop --egress-records or use --capture-format pcapng")
        }
    }

    /// Serves until a termination signal, then cleans up. The caller must have blocked the
    /// termination signals (`SignalWaiter.blockTerminationSignals()`) before any thread started.
    public func run() throws {
        let server = try ControlServer<SwitchRequest>(path: settings.controlSocket, handler: { [self] request in handle(request) },
                                                      streamer: { [self] request in openCaptureStream(request) })
        let forwarding = startForwarding()
        server.start()
        logger.info("switch \(settings.name) forwarding on \(settings.ports.count) ports; capture \(settings.capturePath); control \(settings.controlSocket)")
        let signal = SignalWaiter.waitForTermination()
        logger.info("switch \(settings.name) stopping on signal \(signal)")
        stopForwarding(forwarding)
        server.stop()
        shutdown()
    }

    /// Starts the forwarding thread and returns once it works on its private descriptor table (so no
    /// descriptor opened later, such as a control connection, is copied into it and held open there);
    /// returns what `stopForwarding` waits on. Once per switch.
    func startForwarding() -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        let ready = DispatchSemaphore(value: 0)
        NamedThread.start("forward") { [self] in
            forwardLoop(ready: ready)
            done.signal()
        }
        ready.wait()
        return done
    }

    /// Stops the forwarding thread and returns once it has ended.
    func stopForwarding(_ done: DispatchSemaphore) {
        stopping.store(true, ordering: .releasing)
        stopEvent.signal()
        done.wait()
    }

    /// Closes the ports and the captures (after `stopForwarding`); a pcapng capture ends with each
    /// port's received and dropped counts.
    func shutdown() {
        ports.closeAll()
        let statistics = core.withLock { core in
            core.portIDs.compactMap { id in
                core.counters(of: id).map { CaptureStatistics(interface: id.rawValue - 1, received: $0.rxFrames, dropped: $0.rxDrops.total) }
            }
        }
        capture.close(statistics: statistics, wallNanoseconds: SystemClock.wallNanoseconds())
        for writer in portCaptures { writer?.close() }
    }

    /// Runs `body` on the switch core under its lock: what tests (and the control plane) read.
    func withCore<Result>(_ body: (inout SwitchCore) throws -> Result) rethrows -> Result {
        try core.withLock { try body(&$0) }
    }

    /// Sets the admin state of the port at `index` (p1 is 0) and its carrier.
    func setPort(index: Int, up: Bool) throws {
        try core.withLock { core throws in try core.setPort(PortID(index + 1), up: up) }
        try? ports.all[index].setCarrier(up)
    }

    /// Waits until every frame captured so far is in the capture files (the statistics blocks come at close).
    func flushCaptures() {
        capture.flush()
        for writer in portCaptures { writer?.flush() }
    }

    // MARK: forwarding

    private func forwardLoop(ready: DispatchSemaphore) {
        let vlanAware = settings.ports.contains { $0.vlanMode.isAware }
        let path = ForwardingPath(ports: ports.all, capture: capture, alsoPolled: [housekeeping.rawValue, stopEvent.rawValue],
                                  vlanAware: vlanAware)
        defer { path.release() }
        // Every descriptor this thread uses is open by now (ports, timer, stop event, capture files,
        // stderr). With a table of its own, none of its system calls pays for the file reference
        // counting a shared table needs: about a microsecond per ping's round trip.
        let privateTable = NamedThread.usePrivateDescriptorTable()
        if !privateTable { logger.warning("switch \(settings.name): no private descriptor table for the forwarding thread (errno \(errno)); forwarding anyway") }
        ready.signal()
        // Its copies of the ports go with the loop, so TAPs vanish when the main thread closes them.
        defer { if privateTable { path.closePrivateCopies() } }
        defer { path.closeStreamConnections() }
        let pollSet = path.pollSet, failingPasses = path.failingPasses
        let portCount = path.channels.count, timerSlot = portCount
        // Polling instead of sleeping right after forwarding, for as long as the adaptive window says:
        // a stream's next frame is then caught without a sleep and a wakeup; sparse traffic keeps the
        // window shut. Not while the capture writer has blocks to write: then the capture sets the
        // pace, and polling would only take the CPU it needs.
        let polls = settings.busyPollNanoseconds > 0
        var window = PollWindow(maximumNanoseconds: settings.busyPollNanoseconds)
        var idleSince: UInt64 = 0
        let errorEvents = Int16(POLLERR | POLLHUP | POLLNVAL)
        let hasStreams = !path.streamPorts.isEmpty
        var streamsBuffered = false
        while !stopping.load(ordering: .acquiring) {
            let spinning = polls && window.keepsPolling(idleNanoseconds: SystemClock.monotonicNanoseconds() &- idleSince)
                && !(path.ring?.writerIsBusy ?? false)
            var ready = poll(pollSet.baseAddress, nfds_t(pollSet.count), spinning || streamsBuffered ? 0 : -1)
            // Spinning keeps this CPU from halting (a halted virtual CPU takes tens of microseconds
            // to wake), but it lets anything else that is runnable here go first.
            if ready == 0 && spinning { sched_yield() }
            if streamsBuffered {
                path.markBuffered()
                ready = 1
            }
            guard ready > 0 else { continue }
            let arrived = polls ? SystemClock.monotonicNanoseconds() : 0
            var forwarded = false
            for index in 0..<portCount where pollSet[index].revents != 0 {
                drain(port: index, path)
                forwarded = true
                failingPasses[index] = pollSet[index].revents & errorEvents != 0 ? failingPasses[index] + 1 : 0
                if failingPasses[index] == 100 {
                    pollSet[index].fd = -1
                    reportFailing(port: index)
                }
            }
            pickUpAnswers(path)
            if hasStreams { streamsBuffered = path.refreshStreams() }
            if polls && forwarded {
                window.observe(idleNanoseconds: arrived &- idleSince)
                idleSince = SystemClock.monotonicNanoseconds()
            }
            if pollSet[timerSlot].revents != 0 {
                housekeeping.consume()
                let now = SystemClock.wallNanoseconds()
                _ = core.withLock { $0.expire(now: now) }
                capture.periodicFlush()
            }
        }
    }

    /// Logs a station move, a move the hold-down refused, a flap (the event after `event` in the
    /// log) or a port security violation. Out of line: rare, and it touches the logger.
    @inline(never)
    private func report(_ event: SwitchEvent, flapped: Bool, core: SwitchCore) {
        let vlan = event.vlan == 0 ? "" : " vlan \(event.vlan)"
        let old = event.oldPort.map { core.name(of: $0) } ?? "-"
        let new = core.name(of: event.newPort)
        switch event.kind {
        case .learned, .flap:
            break
        case .moved:
            logger.info("station move: \(event.mac)\(vlan) \(event.oldPort.map(String.init(describing:)) ?? "-") -> \(event.newPort) (frame \(event.frameNumber))")
        case .moveIgnored:
            logger.info("move ignored (hold-down): \(event.mac)\(vlan) stays on \(old), seen on \(new) (frame \(event.frameNumber))")
        case .securityViolation:
            let action = event.action == .shut ? "port \(new) shut (err-disabled) until `l2motion port \(settings.name) \(new) up`" : "frame dropped"
            logger.warning("port security violation on \(new): \(event.mac)\(vlan) is one address too many; \(action) (frame \(event.frameNumber))")
        }
        if flapped, let flap = core.events(since: core.eventLog.nextSequence - 1).events.last, let rate = flap.flap {
            logger.warning("MAC flap: \(flap.mac)\(vlan) keeps moving between \(old) and \(new): \(rate.moves) moves in \(String(format: "%.1f", Double(rate.span) / 1e9)) s")
        }
    }

    /// Out of line so the logger's storage is not touched (nor its access checked) on every pass.
    @inline(never)
    private func reportFailing(port index: Int) {
        logger.error("port \(settings.ports[index].name): its \(ports.all[index].name) keeps reporting errors; no longer reading it")
    }

    /// Reads the frames queued on one TAP, until EAGAIN or 512 frames, and forwards each. Marks in
    /// `answered` the ports it sent unicast frames to; after the first frame it picks up the answers at
    /// once, so a ping's reply goes back before the read that finds the port empty.
    private func drain(port index: Int, _ path: ForwardingPath) {
        for count in 0..<512 {
            guard forwardNext(from: index, path) else { return }
            if count == 0 { pickUpAnswers(path) }
        }
    }

    /// Writing a frame into a TAP runs the receiving namespace's stack right then, so a reply (an echo
    /// reply, a TCP ACK) is usually queued on that port already: reads one frame from every port marked
    /// in `answered` rather than waiting for another `poll`, then clears the marks.
    private func pickUpAnswers(_ path: ForwardingPath) {
        for index in path.answered.indices where path.answered[index] {
            _ = forwardNext(from: index, path)
        }
        path.answered.update(repeating: false)
    }

    /// Reads and forwards one frame from port `index`; false if none was queued. With the capture ring,
    /// the frame is read straight into its place in the ring (captured without a copy); otherwise into
    /// the thread's buffer.
    @inline(__always)
    private func forwardNext(from index: Int, _ path: ForwardingPath) -> Bool {
        if let ring = path.ring, let outcome = ring.withFrameSlot(headroom: ForwardingPath.headroom, capacity: path.buffer.count, { slot, number in
            forwardOne(from: index, path, packet: slot, frameNumber: number)
        }) {
            return outcome != nil
        }
        return forwardOne(from: index, path, packet: path.buffer, frameNumber: nil) != nil
    }

    /// Reads one packet from port `index` into `packet` (its frame after `ForwardingPath.headroom`
    /// bytes) and forwards it. A virtio-net header that came with the frame is checked against it
    /// once, here: a partial checksum of an ordinary frame is filled in (so the capture and every
    /// receiver see a correct frame), a super-frame passes as it is, and the core takes the verdict.
    /// `frameNumber` is the number the capture ring gives the frame; nil: it is captured here. Returns
    /// the frame's capture record, nil if nothing was read.
    private func forwardOne(from index: Int, _ path: ForwardingPath, packet buffer: UnsafeMutableRawBufferPointer,
                            frameNumber: UInt64?) -> CaptureRecord? {
        let ingress = PortID(index + 1)
        let headroom = ForwardingPath.headroom
        let channel = path.channels[index]
        let frame: UnsafeMutableRawBufferPointer
        var offload: CheckedOffload? = nil
        do {
            if channel.readsHeader {
                guard let read = try channel.receive(into: buffer), read > 0 else { return nil }
                frame = UnsafeMutableRawBufferPointer(rebasing: buffer[min(headroom, read)..<read])
                if let header = try? VirtioNetHeader(parsing: UnsafeRawBufferPointer(rebasing: buffer[0..<read])) {
                    let completed = CheckedOffload(header, checkedAgainst: UnsafeRawBufferPointer(frame)).completingChecksum(in: frame)
                    if completed.changed { completed.offload.header.write(to: buffer) }
                    offload = completed.offload
                }
            } else {
                guard let read = try channel.receive(into: UnsafeMutableRawBufferPointer(rebasing: buffer[headroom...])), read > 0 else { return nil }
                frame = UnsafeMutableRawBufferPointer(rebasing: buffer[headroom..<headroom + read])
                if path.anyPortCarriesHeaders { VirtioNetHeader.plain.write(to: buffer) }
            }
        } catch {
            logger.error("port \(settings.ports[index].name): \(error)")
            return nil
        }
        let now = SystemClock.wallNanoseconds()
        var record = CaptureRecord(wallNanoseconds: now, originalLength: frame.count, interface: index)
        if let filter = path.filter { record.captured = filter.accepts(UnsafeRawBufferPointer(frame)) }
        let number = record.captured ? frameNumber ?? 0 : 0
        portCaptures[index]?.write(UnsafeRawBufferPointer(frame), wallNanoseconds: now)
        let packet = UnsafeRawBufferPointer(rebasing: buffer[0..<headroom + frame.count])
        let shut = core.withLock { core -> Bool in
            let result = core.receive(UnsafeRawBufferPointer(frame), on: ingress, at: now, frameNumber: number, checkedOffload: offload)
            if let event = result.event, event.kind != .learned { report(event, flapped: result.flapped, core: core) }
            // A frame too short to have a destination (dropped as a runt) is noted by its drop alone.
            let hasDestination = frame.count >= 6
            let notes = path.annotates && CaptureNotes.worthNoting(result, destinationIsMulticast: hasDestination && frame[0] & 1 != 0)
            if notes { record.notes = CaptureNotes(result, ingress: index, destination: hasDestination ? MACAddress(bytes: frame, at: 0) : .zero) }
            switch result.decision {
            case .drop:
                return result.event?.action == .shut
            case let .unicast(egress):
                transmit(result.egress == .keep ? packet : path.encode(packet, result.egress), offload: offload, to: egress, path, core: &core, record: &record)
                path.answered[egress.rawValue - 1] = true
            case .flood:
                // Every copy that is not sent as received wants the same other form (a frame is
                // either tagged or not on ingress): build it once.
                var variant: UnsafeRawBufferPointer? = nil
                for target in core.floodTargets(for: result, from: ingress).encoded {
                    var bytes = packet
                    if target.encoding != .keep {
                        if variant == nil { variant = path.encode(packet, target.encoding) }
                        bytes = variant!
                    }
                    transmit(bytes, offload: offload, to: target.port, path, core: &core, record: &record)
                }
            }
            return false
        }
        if shut { try? ports.all[index].setCarrier(false) }
        return record
    }

    /// Writes one packet (`ForwardingPath.headroom` bytes of virtio-net header, then the frame) to
    /// `egress`: whole to a port that takes offload metadata, the frame alone to one that does not (a
    /// super-frame cut into segments first). Marks a sent copy in `record`'s egress ports, and notes
    /// one that could not be sent.
    @inline(__always)
    private func transmit(_ packet: UnsafeRawBufferPointer, offload: CheckedOffload?, to egress: PortID, _ path: ForwardingPath,
                          core: inout SwitchCore, record: inout CaptureRecord) {
        let channel = path.channels[egress.rawValue - 1]
        let frameBytes = packet.count - ForwardingPath.headroom
        let bytes: UnsafeRawBufferPointer
        if channel.acceptsOffloads {
            bytes = packet
        } else {
            if let offload, offload.header.isSuperFrame {
                transmitSegments(of: packet, to: egress, path, core: &core, record: &record)
                return
            }
            bytes = UnsafeRawBufferPointer(rebasing: packet[ForwardingPath.headroom...])
        }
        let written = (try? channel.send(bytes)) ?? nil
        if written != nil {
            core.recordTransmit(port: egress, bytes: frameBytes)
            if egress.rawValue <= 64 { record.egressPorts |= 1 << UInt64(egress.rawValue - 1) }
        } else {
            core.recordDrop(port: egress, reason: .queueFull)
            if path.annotates { record.notes.add(.notDelivered(to: egress.rawValue - 1, .queueFull)) }
        }
    }

    /// Software segmentation, as the kernel does for a device without TSO: a GSO super-frame bound for
    /// a port without offload metadata is cut into wire frames (`TCPSuperFrame`) in the path's segment
    /// buffer, one at a time, each sent alone and counted as a frame sent on `egress`; one the port's
    /// queue refuses counts as queue_full. A super-frame that cannot be cut (its header does not
    /// describe a TCP frame, or a segment would not fit the buffer) is a bad_offload drop. The
    /// header is read from the packet's headroom: it is the one for these very bytes (moved with a
    /// tag that was pushed or popped). The capture keeps the super-frame as it entered, with a note
    /// saying what became of it. Out of line, so an ordinary frame's path stays as it was.
    @inline(never)
    private func transmitSegments(of packet: UnsafeRawBufferPointer, to egress: PortID, _ path: ForwardingPath,
                                  core: inout SwitchCore, record: inout CaptureRecord) {
        let index = egress.rawValue - 1
        let frame = UnsafeRawBufferPointer(rebasing: packet[ForwardingPath.headroom...])
        guard let header = try? VirtioNetHeader(parsing: packet), let superFrame = try? TCPSuperFrame(frame, header: header),
              superFrame.largestSegmentLength <= path.segmentBuffer.count else {
            core.recordDrop(port: egress, reason: .badOffload)
            if path.annotates { record.notes.add(.unsegmentable(to: index)) }
            return
        }
        let channel = path.channels[index]
        var sent = 0
        superFrame.forEachSegment(into: path.segmentBuffer) { segment in
            if ((try? channel.send(segment)) ?? nil) != nil {
                core.recordTransmit(port: egress, bytes: segment.count)
                sent += 1
            } else {
                core.recordDrop(port: egress, reason: .queueFull)
            }
        }
        if sent > 0, egress.rawValue <= 64 { record.egressPorts |= 1 << UInt64(index) }
        if path.annotates { record.notes.add(.segmented(to: index, sent: sent, of: superFrame.segmentCount)) }
    }

    // MARK: control

    private func handle(_ request: SwitchRequest) -> ControlReply {
        let now = SystemClock.wallNanoseconds()
        switch request {
        case .status:
            return .result(SwitchStatus(name: settings.name, pid: getpid(), capture: settings.capturePath,
                                        framesCaptured: capture.framesWritten,
                                        ports: settings.ports, endpoints: endpointStates()))
        case .macTable:
            return .result(core.withLock { $0.macTableSnapshot(at: now) })
        case let .events(since: cursor):
            return .result(core.withLock { $0.eventSnapshots(since: cursor) })
        case .counters:
            return .result(core.withLock { $0.portCountersSnapshot() })
        case .ports:
            return .result(core.withLock { $0.portsSnapshot(at: now) })
        case let .setPort(port: name, state: state):
            guard let index = portIndex(name) else { return .failure(noSuchPort(name)) }
            do {
                try setPort(index: index, up: state == .up)
            } catch {
                return .failure(ControlError(.refused, "\(error)"))
            }
            logger.info("port \(name) set \(state.rawValue)")
            return .done
        case let .flush(port: name):
            var port: PortID?
            if let name {
                guard let index = portIndex(name) else { return .failure(noSuchPort(name)) }
                port = PortID(index + 1)
            }
            let removed = core.withLock { core in port.map { core.flush(port: $0) } ?? core.flush() }
            return .result(FlushResult(removed: removed))
        case .captureFlush:
            flushCaptures()
            return .result(CaptureFlushResult(frames: capture.framesWritten))
        case let .captureFrames(filter, since):
            return capturedFrames(filter: filter, since: since)
        case .captureStream:
            // The control server hands stream requests to `openCaptureStream` before they get here.
            return .failure(ControlError(.refused, "capture-stream opens a stream; use `l2motion capture`"))
        }
    }

    /// Each port's endpoint state, in port order.
    func endpointStates() -> [PortEndpointState] {
        zip(settings.ports, ports.all).map { spec, port in
            PortEndpointState(port: spec.name, kind: spec.endpoint.kind, state: port.endpointState, counters: port.endpointCounters)
        }
    }

    func portIndex(_ name: String) -> Int? { settings.ports.firstIndex { $0.name == name } }

    func noSuchPort(_ name: String) -> ControlError {
        ControlError(.notFound, "no port \"\(name)\" on switch \(settings.name); ports are \(settings.ports.map(\.name).joined(separator: ", "))")
    }
}


