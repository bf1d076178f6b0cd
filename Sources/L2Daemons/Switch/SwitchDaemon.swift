import Foundation
import L2Control
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

    public var capturePath: String { "\(captureDirectory)/\(name).pcap" }
    public func portCapturePath(_ port: PortSpec) -> String { "\(captureDirectory)/\(name)-\(port.name).pcap" }
}

/// A running userspace learning switch: TAP ports, the forwarding loop, the segment capture and the
/// control socket. `run()` blocks until SIGINT/SIGTERM, then removes what it created.
public final class SwitchDaemon: Sendable {
    public let settings: SwitchSettings
    private let ports: TapPorts
    private let core: Mutex<SwitchCore>
    private let capture: SegmentCapture
    private let portCaptures: [PcapWriter?]
    private let stopping = Atomic<Bool>(false)
    /// Wakes the forwarding loop once a second for aging and capture flushing, so it can otherwise
    /// sleep in `poll` with no timeout (an idle switch costs nothing).
    private let housekeeping: WakeDescriptor
    /// Signalled on SIGINT/SIGTERM to wake the forwarding loop at once.
    private let stopEvent: WakeDescriptor
    private let logger: Logger

    /// Validates the settings, creates the capture files and the TAP ports. Nothing is left behind
    /// if any step fails.
    public init(settings: SwitchSettings, logger: Logger) throws {
        try validatePorts(settings.ports)
        guard (1...10_000_000).contains(settings.tableCapacity) else {
            throw ConfigurationError("table capacity \(settings.tableCapacity) is out of range; use 1...10000000")
        }
        guard settings.agingSeconds > 0 else { throw ConfigurationError("aging time must be positive, got \(settings.agingSeconds) s") }
        try TapPorts.preflight(settings.ports)
        try FileManager.default.createDirectory(atPath: settings.captureDirectory, withIntermediateDirectories: true)
        self.settings = settings
        self.logger = logger
        if !settings.captures {
            capture = .disabled
        } else if let filter = settings.captureFilter, !filter.isEmpty {
            capture = .filtered(try PcapWriter(path: settings.capturePath, snaplen: settings.snaplen, filter: filter))
        } else {
            capture = .ring(try CaptureRing(path: settings.capturePath, snaplen: settings.snaplen))
        }
        portCaptures = try settings.ports.map { port in
            settings.perPortCaptures ? try PcapWriter(path: settings.portCapturePath(port), snaplen: settings.snaplen) : nil
        }
        var switchCore = SwitchCore(configuration: .init(macTable: .init(
            capacity: settings.tableCapacity, agingTime: UInt64(settings.agingSeconds * 1e9))))
        for (index, port) in settings.ports.enumerated() {
            try switchCore.addPort(PortID(index + 1), PortConfiguration(name: port.name, mtu: port.mtu))
        }
        core = Mutex(switchCore)
        housekeeping = try WakeDescriptor.every(milliseconds: 1000)
        stopEvent = try WakeDescriptor.event()
        let prefix = "l2s\(getpid() % 100_000)x"
        ports = try TapPorts(specs: settings.ports, tapPrefix: prefix, offloads: settings.offloads)
    }

    /// Serves until a termination signal, then cleans up. The caller must have blocked the
    /// termination signals (`SignalWaiter.blockTerminationSignals()`) before any thread started.
    public func run() throws {
        let server = try ControlServer<SwitchRequest>(path: settings.controlSocket) { [self] request in handle(request) }
        server.start()
        let done = DispatchSemaphore(value: 0)
        NamedThread.start("forward") { [self] in
            forwardLoop()
            done.signal()
        }
        logger.info("switch \(settings.name) forwarding on \(settings.ports.count) ports; capture \(settings.capturePath); control \(settings.controlSocket)")
        let signal = SignalWaiter.waitForTermination()
        logger.info("switch \(settings.name) stopping on signal \(signal)")
        stopping.store(true, ordering: .releasing)
        stopEvent.signal()
        done.wait()
        server.stop()
        shutdown()
    }

    private func shutdown() {
        ports.closeAll()
        capture.close()
        for writer in portCaptures { writer?.close() }
    }

    // MARK: forwarding

    private func forwardLoop() {
        let path = ForwardingPath(taps: ports.taps, capture: capture, offloads: ports.offloads,
                                  alsoPolled: [housekeeping.rawValue, stopEvent.rawValue])
        defer { path.release() }
        // Every descriptor this thread uses is open by now (TAPs, timer, stop event, capture files,
        // stderr). With a table of its own, none of its system calls pays for the file reference
        // counting a shared table needs: about a microsecond per ping's round trip.
        let privateTable = NamedThread.usePrivateDescriptorTable()
        if !privateTable { logger.warning("switch \(settings.name): no private descriptor table for the forwarding thread (errno \(errno)); forwarding anyway") }
        // Its copies of the TAPs go with the loop, so the TAPs vanish when the main thread closes them.
        defer { if privateTable { path.closePrivateCopies() } }
        let pollSet = path.pollSet, failingPasses = path.failingPasses
        let portCount = ports.taps.count, timerSlot = portCount
        // Polling instead of sleeping right after forwarding, for as long as the adaptive window says:
        // a stream's next frame is then caught without a sleep and a wakeup; sparse traffic keeps the
        // window shut. Not while the capture writer has blocks to write: then the capture sets the
        // pace, and polling would only take the CPU it needs.
        let polls = settings.busyPollNanoseconds > 0
        var window = PollWindow(maximumNanoseconds: settings.busyPollNanoseconds)
        var idleSince: UInt64 = 0
        let errorEvents = Int16(POLLERR | POLLHUP | POLLNVAL)
        while !stopping.load(ordering: .acquiring) {
            let spinning = polls && window.keepsPolling(idleNanoseconds: SystemClock.monotonicNanoseconds() &- idleSince)
                && !(path.ring?.writerIsBusy ?? false)
            let ready = poll(pollSet.baseAddress, nfds_t(pollSet.count), spinning ? 0 : -1)
            // Spinning keeps this CPU from halting (a halted virtual CPU takes tens of microseconds
            // to wake), but it lets anything else that is runnable here go first.
            if ready == 0 && spinning { sched_yield() }
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

    /// Out of line so the logger's storage is not touched (nor its access checked) on every pass.
    @inline(never)
    private func reportFailing(port index: Int) {
        logger.error("port \(settings.ports[index].name): its TAP keeps reporting errors; no longer reading it")
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
        if let ring = path.ring, let outcome = ring.withFrameSlot(headroom: path.headerLength, capacity: path.buffer.count, { slot, number in
            forwardOne(from: index, path, packet: slot, frameNumber: number)
        }) {
            return outcome != nil
        }
        return forwardOne(from: index, path, packet: path.buffer, frameNumber: nil) != nil
    }

    /// Reads one packet from port `index` into `packet` and forwards it. With offloads the packet starts
    /// with the virtio-net header: a partial checksum of an ordinary frame is filled in here (so the
    /// capture and every receiver see a correct frame), a super-frame passes as it is, and the header
    /// goes out with the frame to the egress TAPs. `frameNumber` is the number the capture ring gives
    /// the frame; nil: it is captured here. Returns the frame's length and time, nil if nothing was read.
    private func forwardOne(from index: Int, _ path: ForwardingPath, packet buffer: UnsafeMutableRawBufferPointer,
                            frameNumber: UInt64?) -> (length: Int, wallNanoseconds: UInt64)? {
        let ingress = PortID(index + 1)
        let headerLength = path.headerLength
        let count: Int
        do {
            guard let read = try OwnedDescriptor.read(path.descriptors[index], into: buffer), read > 0 else { return nil }
            count = read
        } catch {
            logger.error("port \(settings.ports[index].name): \(error)")
            return nil
        }
        let frame = UnsafeMutableRawBufferPointer(rebasing: buffer[min(headerLength, count)..<count])
        var offload: VirtioNetHeader? = nil
        if headerLength > 0, var header = try? VirtioNetHeader(parsing: UnsafeRawBufferPointer(rebasing: buffer[0..<count])) {
            if header.needsChecksum, !header.isSuperFrame, header.problem(with: UnsafeRawBufferPointer(frame)) == nil {
                header = header.completingChecksum(in: frame)
                header.write(to: buffer)
            }
            offload = header
        }
        let packet = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
        let now = SystemClock.wallNanoseconds()
        let number = frameNumber ?? capture.write(UnsafeRawBufferPointer(frame), wallNanoseconds: now)
        portCaptures[index]?.write(UnsafeRawBufferPointer(frame), wallNanoseconds: now)
        core.withLock { core in
            let result = core.receive(UnsafeRawBufferPointer(frame), on: ingress, at: now, frameNumber: number, offload: offload)
            if let event = result.event, event.kind == .moved {
                logger.info("station move: \(event.mac) \(event.oldPort.map(String.init(describing:)) ?? "-") -> \(event.newPort) (frame \(number))")
            }
            switch result.decision {
            case .drop:
                break
            case let .unicast(egress):
                transmit(packet, frameBytes: frame.count, to: egress, path, core: &core)
                path.answered[egress.rawValue - 1] = true
            case .flood:
                for egress in core.floodTargets(from: ingress) {
                    transmit(packet, frameBytes: frame.count, to: egress, path, core: &core)
                }
            }
        }
        return (frame.count, now)
    }

    /// Writes one packet (the frame, after its virtio-net header when the ports pass offloads).
    @inline(__always)
    private func transmit(_ packet: UnsafeRawBufferPointer, frameBytes: Int, to egress: PortID, _ path: ForwardingPath,
                          core: inout SwitchCore) {
        let written = (try? OwnedDescriptor.write(path.descriptors[egress.rawValue - 1], packet)) ?? nil
        if written != nil {
            core.recordTransmit(port: egress, bytes: frameBytes)
        } else {
            core.recordDrop(port: egress, reason: .queueFull)
        }
    }

    // MARK: control

    private func handle(_ request: SwitchRequest) -> ControlReply {
        let now = SystemClock.wallNanoseconds()
        switch request {
        case .status:
            return .result(SwitchStatus(name: settings.name, pid: getpid(), capture: settings.capturePath,
                                        framesCaptured: capture.framesWritten,
                                        ports: settings.ports))
        case .macTable:
            return .result(core.withLock { $0.macTableSnapshot(at: now) })
        case let .events(since: cursor):
            return .result(core.withLock { $0.eventSnapshots(since: cursor) })
        case .counters:
            return .result(core.withLock { $0.portCountersSnapshot() })
        case let .setPort(port: name, state: state):
            guard let index = portIndex(name) else { return .failure(noSuchPort(name)) }
            do {
                try core.withLock { core throws in try core.setPort(PortID(index + 1), up: state == .up) }
                try? ports.taps[index].setCarrier(state == .up)
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
            capture.flush()
            for writer in portCaptures { writer?.flush() }
            return .result(CaptureFlushResult(frames: capture.framesWritten))
        }
    }

    private func portIndex(_ name: String) -> Int? { settings.ports.firstIndex { $0.name == name } }

    private func noSuchPort(_ name: String) -> ControlError {
        ControlError(.notFound, "no port \"\(name)\" on switch \(settings.name); ports are \(settings.ports.map(\.name).joined(separator: ", "))")
    }
}


/// What the forwarding thread works with, set up once before its loop: the ports, the buffer a frame
/// is read into when it is not read straight into the capture ring, and the ports a pass sent unicast
/// frames to (their answers are often queued already). Taken apart from the loop's per-frame path so
/// a frame touches as little memory as possible after the thread wakes.
private struct ForwardingPath {
    /// Each port's TAP descriptor, by port index; `TapPorts` keeps them open while the loop runs.
    let descriptors: UnsafeMutableBufferPointer<Int32>
    let ring: CaptureRing?
    /// The virtio-net header's length when the ports pass offloads, else 0.
    let headerLength: Int
    let buffer: UnsafeMutableRawBufferPointer
    let answered: UnsafeMutableBufferPointer<Bool>
    /// The descriptors `poll` waits on: one per port (the same order), then `alsoPolled`.
    let pollSet: UnsafeMutableBufferPointer<pollfd>
    /// Passes in a row on which each port's TAP reported an error (its device is gone): such a port
    /// is left out of the poll set rather than waking the loop on every pass.
    let failingPasses: UnsafeMutableBufferPointer<Int>

    init(taps: [TapDevice], capture: SegmentCapture, offloads: Bool, alsoPolled: [Int32]) {
        descriptors = .allocate(capacity: taps.count)
        _ = descriptors.initialize(from: taps.map(\.descriptor.rawValue))
        if case let .ring(ring) = capture { self.ring = ring } else { ring = nil }
        headerLength = offloads ? VirtioNetHeader.length : 0
        // A GSO super-frame is up to 64 KiB of IP plus its Ethernet header and the virtio-net header.
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 128 * 1024, alignment: 64)
        answered = UnsafeMutableBufferPointer<Bool>.allocate(capacity: taps.count)
        answered.initialize(repeating: false)
        pollSet = .allocate(capacity: taps.count + alsoPolled.count)
        _ = pollSet.initialize(from: (Array(descriptors) + alsoPolled).map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) })
        failingPasses = .allocate(capacity: taps.count)
        failingPasses.initialize(repeating: 0)
    }

    /// Closes this thread's copies of every polled descriptor (a port left out of the poll set
    /// included). Only for a thread with a private descriptor table: elsewhere it would close the
    /// process's own.
    func closePrivateCopies() {
        for descriptor in descriptors { close(descriptor) }
        for entry in pollSet[descriptors.count...] { close(entry.fd) }
    }

    func release() {
        descriptors.deallocate()
        buffer.deallocate()
        answered.deallocate()
        pollSet.deallocate()
        failingPasses.deallocate()
    }
}

/// The segment capture: written off the forwarding path by `CaptureRing`, or, when a BPF capture
/// filter is set, by libpcap's writer (which evaluates the filter) on the forwarding thread.
enum SegmentCapture: Sendable {
    case ring(CaptureRing)
    case filtered(PcapWriter)
    /// No capture (benchmarks only: what capturing costs).
    case disabled

    /// Appends one frame; returns its number in the capture, or 0 when the filter rejected it.
    @inline(__always)
    func write(_ frame: UnsafeRawBufferPointer, wallNanoseconds: UInt64) -> UInt64 {
        switch self {
        case let .ring(ring):
            return ring.write(frame, wallNanoseconds: wallNanoseconds)
        case let .filtered(writer):
            return writer.write(frame, wallNanoseconds: wallNanoseconds) ? writer.framesWritten : 0
        case .disabled:
            return 0
        }
    }

    var framesWritten: UInt64 {
        switch self {
        case let .ring(ring): ring.framesWritten
        case let .filtered(writer): writer.framesWritten
        case .disabled: 0
        }
    }

    /// Once a second from the forwarding loop: gets quiet traffic into the file without waiting.
    func periodicFlush() {
        switch self {
        case let .ring(ring): ring.sealIfIdle()
        case let .filtered(writer): writer.flush()
        case .disabled: break
        }
    }

    /// Returns once every frame captured so far is in the file.
    func flush() {
        switch self {
        case let .ring(ring): ring.flush()
        case let .filtered(writer): writer.flush()
        case .disabled: break
        }
    }

    func close() {
        switch self {
        case let .ring(ring): ring.close()
        case let .filtered(writer): writer.close()
        case .disabled: break
        }
    }
}
