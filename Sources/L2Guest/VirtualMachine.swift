import L2Wire

/// Where a VM is in its life, including the two sides of a migration.
public enum VMState: String, Hashable, Sendable, Codable, CustomStringConvertible {
    case poweredOff
    /// Running normally.
    case running
    /// Source side of a migration, pre-copy: still running, memory being copied.
    case migratingOut
    /// Frozen: vCPU and workload stopped (switchover). Frames are not answered.
    case stunned
    /// Destination side of a migration: memory arriving, not running yet.
    case migratingIn
    /// Post-copy destination whose link to the source failed: frozen until the migration recovers
    /// (it cannot run on the source again).
    case paused

    public var description: String { rawValue }
}

/// A lifecycle call that does not fit the VM's current state.
public struct VMStateError: Error, Hashable, Sendable, CustomStringConvertible {
    public var vm: String
    public var action: String
    public var state: VMState

    public var description: String { "cannot \(action) VM \"\(vm)\": it is \(state)" }
}

/// A VM's figures for the control socket and reports.
public struct VMStatistics: Hashable, Sendable, Codable {
    public var state: VMState
    /// Pages holding any non-zero byte (from a scan of memory).
    public var pagesTouched: Int
    public var pageCount: Int
    /// Workload writes per second over the last second of running time (each write dirties a page).
    public var dirtyRate: Double
    public var workloadWrites: UInt64
    public var throttlePercent: Int
    public var responder: ResponderStatistics
    /// Frames that arrived while the VM could not answer (stunned, migrating in, off).
    public var framesWhileNotRunning: Int
    /// Frames for the VM that arrived while it was stunned and did not fit the host's bounded queue
    /// (4096 frames), so the migration could not carry them. Filled in by the host.
    public var framesDroppedWhileStunned = 0
    /// Frames the VM sent with another source MAC that its host's virtual switch dropped (its port
    /// group rejects forged transmits). Filled in by the host; counted since the VM came to this host.
    public var forgedTransmitsDropped = 0
    public var udpCounter: UInt64
    /// The TCP stack's counters on this host (nil for a VM without TCP, and from an older host).
    public var tcp: TCPStatistics? = nil
    /// TCP connections open now (read from guest memory).
    public var tcpConnections: Int? = nil
    public var instructionCounter: UInt64
    public var bootID: UInt64
    public var migrationCount: UInt32
}

/// One VM: its configuration, memory, workload, network responder and vCPU state, with the
/// lifecycle a migration needs. Time is passed in (monotonic nanoseconds of the caller's clock).
///
/// Not `Sendable`: use it from one thread (the host's VM loop). `memory` itself is thread-safe for
/// a migration's copier thread (`GuestMemory` is `Sendable`, its dirty bitmap atomic).
///
/// Lifecycle: `powerOn` → running; source of a migration: `beginMigrationOut` → `stun` →
/// `completeMigrationOut` (→ poweredOff) or `abortMigrationOut` (→ running); destination:
/// `init(incoming:)` (migratingIn) → pages into `memory.storePage` → `restore(vcpuState:)` →
/// `resume(now:)`.
public final class VirtualMachine {
    public let configuration: VMConfiguration
    public let memory: GuestMemory
    public private(set) var state: VMState
    public private(set) var workload: Workload
    public private(set) var responder: NetworkResponder
    /// The VM's TCP and its services (nil for a VM too small for a network region); every
    /// connection lives in guest memory.
    public private(set) var tcp: GuestTCP?
    /// The host this VM runs on now (its services show it); the host sets it.
    public var hostName = ""
    public private(set) var bootID: UInt64 = 0
    public private(set) var instructionCounter: UInt64 = 0
    public private(set) var migrationCount: UInt32 = 0
    public private(set) var framesWhileNotRunning = 0
    private var lastTick: UInt64 = 0
    /// Post-copy: the pages not here yet (`PostcopyPages`); nil when every page is here.
    public private(set) var postcopyPages: PostcopyPages?
    /// (time, writes) samples of the last second or so of running, oldest first.
    private var samples: [(time: UInt64, writes: UInt64)] = []

    public var name: String { configuration.name }

    /// A powered-off VM with zeroed memory. Throws if the configuration is invalid or memory cannot be reserved.
    public init(configuration: VMConfiguration) throws(VMCreationError) {
        let problems = configuration.validate()
        guard problems.isEmpty else { throw .invalidConfiguration(VMConfigurationError(problems)) }
        self.configuration = configuration
        do {
            memory = try GuestMemory(bytes: configuration.memoryBytes)
        } catch {
            throw .memory(error)
        }
        state = .poweredOff
        workload = Workload(spec: configuration.workload, seed: configuration.effectiveSeed, now: 0)
        responder = NetworkResponder(mac: configuration.mac, ip: configuration.ip.address, ipv6: configuration.effectiveIPv6)
        tcp = GuestTCP(mac: configuration.mac, ipv4: configuration.ip.address, ipv6: configuration.ipv6Interfaces.map(\.address),
                       services: VMServices.services(forWorkload: configuration.workload.preset), pageCount: memory.pageCount)
    }

    /// The destination side of a migration: empty memory, waiting for pages and the vCPU state.
    public convenience init(incoming configuration: VMConfiguration) throws(VMCreationError) {
        try self.init(configuration: configuration)
        state = .migratingIn
    }

    /// The vCPU state a migration carries at switchover (includes the workload state).
    public var vcpuState: VCPUState {
        VCPUState(bootID: bootID, instructionCounter: instructionCounter, migrationCount: migrationCount,
                  workload: workload.state)
    }

    /// Boots: boot record, non-zero fill of `touchedMiB`, workload started at `now`. Returns the
    /// frames to send (a gratuitous ARP if configured).
    public func powerOn(now: UInt64, bootID: UInt64) throws(VMStateError) -> [[UInt8]] {
        try require([.poweredOff], "power on")
        self.bootID = bootID
        instructionCounter = 0
        memory.storeUInt64(GuestLayout.bootMagic, at: GuestLayout.bootRecordOffset)
        memory.storeUInt64(bootID, at: GuestLayout.bootRecordOffset + 8)
        memory.fillPseudoRandom(mebibytes: configuration.touchedMiB ?? 0, seed: configuration.effectiveSeed)
        workload = Workload(spec: configuration.workload, seed: configuration.effectiveSeed, now: now)
        startClock(now)
        state = .running
        return configuration.sendsGratuitousARP ? [responder.gratuitousARP()] : []
    }

    /// Answers a frame delivered to this VM's NIC; returns the frames it sends. Only a running VM
    /// (or one in pre-copy) answers; otherwise the frame is counted and nothing is sent.
    public func handle(frame: ArraySlice<UInt8>, now: UInt64) -> [[UInt8]] {
        guard isRunning else {
            framesWhileNotRunning += 1
            return []
        }
        tick(now: now)
        let segment = tcp.flatMap { stack in (try? EthernetFrame(frame)).flatMap(stack.incoming) }
        // Post-copy: a request that touches a page not here yet waits for it. A TCP segment waits for
        // the whole network region (the stack may touch any connection's pages and the store).
        if var pages = postcopyPages,
           let page = responder.page(touchedBy: frame) ?? (segment == nil ? nil : firstMissingNetworkPage(in: pages)),
           pages.isMissing(page) {
            pages.hold(Array(frame), waitingFor: page)
            postcopyPages = pages
            return []
        }
        if var stack = tcp, let segment {
            let replies = stack.answer(segment, now: instructionCounter, memory: memory, context: serviceContext)
            tcp = stack
            return replies
        }
        return responder.handle(frame: frame, memory: memory).map { [$0] } ?? []
    }

    /// Its TCP services as `name/port` (`echo/7`, `http/80`); none for a VM without TCP.
    public var serviceNames: [String] { tcp?.services.map { "\($0.name)/\($0.port)" } ?? [] }

    /// What the VM's services show about it now.
    public var serviceContext: ServiceContext {
        ServiceContext(vmName: name, hostName: hostName, uptimeNanoseconds: instructionCounter, migrationCount: migrationCount)
    }

    /// Runs the guest up to `now` (`tick`), then the TCP stack's timers (retransmissions, window
    /// probes, TIME-WAIT) at the guest clock; returns the frames they send. The timers do not run
    /// while the VM is not running, or while post-copy still lacks a page of the network region.
    public func runVCPU(now: UInt64) -> [[UInt8]] {
        tick(now: now)
        guard isRunning, var stack = tcp else { return [] }
        if let pages = postcopyPages, firstMissingNetworkPage(in: pages) != nil { return [] }
        let frames = stack.tick(now: instructionCounter, memory: memory, context: serviceContext)
        tcp = stack
        return frames
    }

    private func firstMissingNetworkPage(in pages: PostcopyPages) -> Int? {
        guard let region = GuestLayout.networkRegion(pageCount: memory.pageCount) else { return nil }
        return region.pages.first { pages.isMissing($0) }
    }

    public func handle(frame: [UInt8], now: UInt64) -> [[UInt8]] { handle(frame: frame[...], now: now) }

    /// Runs the guest up to `now`: the workload's owed writes and the instruction counter. Returns the writes done.
    @discardableResult
    public func tick(now: UInt64) -> Int {
        guard isRunning else { return 0 }
        if now > lastTick {
            instructionCounter &+= now - lastTick
            lastTick = now
        }
        let writes: Int
        if var pages = postcopyPages {
            writes = workload.advance(to: now, memory: memory) { pages.isMissing($0) }
            if let blocked = workload.blockedPage { pages.fault(blocked) }
            postcopyPages = pages
        } else {
            writes = workload.advance(to: now, memory: memory)
        }
        record(now)
        return writes
    }

    /// Slows the workload (0...99 %, clamped), e.g. when pre-copy does not converge. Takes effect from the last tick.
    public func setThrottle(percent: Int) {
        workload.setThrottle(percent: percent)
    }

    /// Source side: pre-copy starts; the VM keeps running.
    public func beginMigrationOut() throws(VMStateError) {
        try require([.running], "migrate")
        state = .migratingOut
    }

    /// Freezes the VM at `now` (switchover): owed writes are done first, then nothing runs.
    public func stun(now: UInt64) throws(VMStateError) {
        try require([.running, .migratingOut], "stun")
        tick(now: now)
        workload.pause()
        state = .stunned
    }

    /// Runs again from `now`: a stunned source after a failed switchover, or a migration destination
    /// once its memory and vCPU state are in. Stunned time is not owed to the workload.
    public func resume(now: UInt64) throws(VMStateError) {
        try require([.stunned, .migratingIn], "resume")
        if state == .migratingIn { migrationCount &+= 1 }
        workload.resume(at: now)
        startClock(now)
        state = .running
    }

    /// Post-copy destination: the VM resumes with `missing` pages (bit words) not here yet.
    public func resumePostcopy(now: UInt64, missing: [UInt64]) throws(VMStateError) {
        try resume(now: now)
        var pages = PostcopyPages(missing: missing)
        // The network region is asked for at once: every TCP segment and timer needs it.
        if let region = GuestLayout.networkRegion(pageCount: memory.pageCount) {
            for page in region.pages where pages.isMissing(page) { pages.fault(page) }
        }
        postcopyPages = pages.missingCount == 0 ? nil : pages
    }

    /// Post-copy: the pages the VM waits for and has not asked for yet (the host requests them).
    public func takeFaults() -> [Int] {
        guard var pages = postcopyPages else { return [] }
        let faults = pages.takeFaults()
        postcopyPages = pages
        return faults
    }

    /// Post-copy: `pages` arrived; what waited on them goes on. Returns the replies to frames that
    /// waited. Once every page is here the VM runs as any other.
    public func pagesArrived(_ pages: [Int], now: UInt64) -> [[UInt8]] {
        guard var state = postcopyPages else { return [] }
        let released = state.arrived(pages)
        postcopyPages = state.missingCount == 0 ? nil : state
        guard isRunning else { return [] }
        return released.flatMap { handle(frame: $0[...], now: now) }
    }

    /// Post-copy: the link to the source failed; the VM freezes here until the migration recovers.
    public func pauseForRecovery(now: UInt64) throws(VMStateError) {
        try require([.running], "pause")
        tick(now: now)
        workload.pause()
        state = .paused
    }

    /// Post-copy: the migration recovered; the VM runs on.
    public func unpause(now: UInt64) throws(VMStateError) {
        try require([.paused], "unpause")
        workload.resume(at: now)
        startClock(now)
        state = .running
    }

    /// Source side: the migration failed or was cancelled; the VM runs on here.
    public func abortMigrationOut(now: UInt64) throws(VMStateError) {
        try require([.migratingOut, .stunned], "abort the migration of")
        if state == .stunned {
            workload.resume(at: now)
            startClock(now)
        }
        state = .running
    }

    /// Source side: the destination confirmed it runs the VM; this copy stops for good.
    public func completeMigrationOut() throws(VMStateError) {
        try require([.stunned], "complete the migration of")
        state = .poweredOff
    }

    /// Destination side: installs the vCPU state received at switchover (the VM stays migratingIn until `resume`).
    public func restore(vcpuState: VCPUState) throws(VMStateError) {
        try require([.migratingIn], "restore the vCPU state of")
        bootID = vcpuState.bootID
        instructionCounter = vcpuState.instructionCounter
        migrationCount = vcpuState.migrationCount
        var state = vcpuState.workload
        state.paused = true
        workload = Workload(state: state)
    }

    /// Stops the VM. Memory keeps its contents until the VM is released.
    public func powerOff() {
        workload.pause()
        state = .poweredOff
    }

    /// The frames to announce this VM's IP (a gratuitous ARP), e.g. after a migration.
    public func gratuitousARP() -> [UInt8] { responder.gratuitousARP() }

    /// IPv6: one unsolicited Neighbor Advertisement per address (link-local included), e.g. after a migration.
    public func unsolicitedNeighborAdvertisements() -> [[UInt8]] { responder.unsolicitedNeighborAdvertisements() }

    /// Current figures. Scans all of memory for `pagesTouched`: call on request, not per frame.
    public func statistics() -> VMStatistics {
        var figures = statisticsWithoutScan()
        figures.pagesTouched = memory.nonZeroPageCount()
        return figures
    }

    /// `statistics()` without the memory scan (`pagesTouched` is 0): cheap enough to take under a
    /// lock the VM's network path also needs. Scan `memory` separately (it is thread-safe to read).
    public func statisticsWithoutScan() -> VMStatistics {
        VMStatistics(state: state, pagesTouched: 0, pageCount: memory.pageCount,
                     dirtyRate: dirtyRate, workloadWrites: workload.writes, throttlePercent: workload.throttlePercent,
                     responder: responder.statistics, framesWhileNotRunning: framesWhileNotRunning,
                     udpCounter: responder.counter(in: memory), tcp: tcp?.stack.statistics,
                     tcpConnections: postcopyPages == nil ? tcp?.stack.connections(in: memory).count : nil,
                     instructionCounter: instructionCounter, bootID: bootID, migrationCount: migrationCount)
    }

    /// Workload writes per second over the last second of ticks (0 with fewer than two samples).
    public var dirtyRate: Double {
        guard let first = samples.first, let last = samples.last, last.time > first.time else { return 0 }
        return Double(last.writes - first.writes) * 1e9 / Double(last.time - first.time)
    }

    private var isRunning: Bool { state == .running || state == .migratingOut }

    private func startClock(_ now: UInt64) {
        lastTick = now
        samples = [(now, workload.writes)]
    }

    private func record(_ now: UInt64) {
        guard let last = samples.last, now > last.time else { return }
        samples.append((now, workload.writes))
        // Keep one sample at or before the start of the one-second window.
        while samples.count > 2, samples[1].time + 1_000_000_000 <= now { samples.removeFirst() }
    }

    private func require(_ allowed: [VMState], _ action: String) throws(VMStateError) {
        guard allowed.contains(state) else { throw VMStateError(vm: name, action: action, state: state) }
    }
}

/// Why a VM could not be created.
public enum VMCreationError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidConfiguration(VMConfigurationError)
    case memory(GuestMemoryError)

    public var description: String {
        switch self {
        case let .invalidConfiguration(error): error.description
        case let .memory(error): error.description
        }
    }
}
