import Foundation
import L2Control
import L2Edge
import L2Guest
import L2Migration
import L2Wire

/// The host's side of vMotion: the listener on `vmk1:8000`, the migrations this host prepared to
/// receive, the ones it runs as source or destination, and their control commands.
final class MigrationService: @unchecked Sendable {
    unowned let host: HostDaemon
    let lock = NSLock()
    private var listener: TCPSocket?
    private var expected: [MigrationID: Expectation] = [:]
    var progress: [String: MigrationProgress] = [:]
    /// Paused post-copy sources, by id (`MigrationService+Recovery`).
    var parked: [String: ParkedSource] = [:]
    /// Migrations waiting for the coordinator's decision, by id, with how to carry it out.
    var pendingDecisions: [String: @Sendable (ResolveDecision) -> Result<String, ConfigurationError>] = [:]
    private var stopped = false
    /// The incoming migrations running here, by id: where their lanes are handed over.
    private var laneInboxes: [MigrationID: LaneInbox] = [:]

    struct Expectation: Sendable {
        let secret: MigrationSecret
        let vm: String
        let garp: Bool
        let announceSchedule: [UInt64]
        /// How many of the scheduled announces to suppress (a fault).
        let dropAnnounces: Int
        let encryption: MigrationEncryptionMode
        /// Lanes the source may open.
        let streams: Int
        /// Post-copy (or hybrid) was agreed: the destination accepts `postcopyStart`.
        var mode: MigrationMode = .precopy
        /// Unsolicited Neighbor Advertisements with each announce.
        var announceIPv6: IPv6AnnounceMode = .na
    }

    init(host: HostDaemon) { self.host = host }

    /// Listens on each vMotion interface's address (vmk1, and vmk2 with Multi-NIC vMotion). Only
    /// `migrate-prepare`d ids are accepted, and lanes only for a migration running here. Returns each
    /// accept loop's end, which comes after `stop()` and the host's stop event.
    func startListening() throws -> [(String, ThreadEnd)] {
        var sockets: [(VMotionNIC, TCPSocket)] = []
        for nic in host.settings.vmotionNICs {
            sockets.append((nic, try TCPSocket.listen(ip: nic.address.rawValue, port: host.settings.migrationPort, receiveBuffer: 2 << 20)))
        }
        lock.withLock { listener = sockets.first?.1 }
        return sockets.map { nic, socket in
            ("vmotion-listen \(nic.interface)", NamedThread.start("vmotion-listen") { [self] in acceptLoop(socket) })
        }
    }

    func stop() {
        lock.withLock { stopped = true }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func acceptLoop(_ socket: TCPSocket) {
        while !isStopped {
            guard host.stopEvent.wait(orReadable: socket.descriptor.rawValue) else { continue }
            guard let (connection, peer) = (try? socket.accept()) ?? nil else {
                // Readable but nothing accepted (the peer gave up, or no descriptor is free): pause
                // rather than spin on a listener that stays readable.
                usleep(10_000)
                continue
            }
            NamedThread.start("vmotion-in") { [self] in
                DestinationDriver(service: self, host: host, connection: connection, peer: peer).run()
            }
        }
        socket.close()
    }

    // MARK: bookkeeping shared with the drivers

    /// A session of an incoming migration starts taking lanes (until `closeLanes`).
    func openLanes(for id: MigrationID) -> LaneInbox {
        let inbox = LaneInbox()
        lock.withLock { laneInboxes[id] = inbox }
        return inbox
    }

    /// The session ended: later lanes of this id are refused; those still queued come back.
    func closeLanes(for id: MigrationID) -> [OfferedLane] {
        let inbox = lock.withLock { laneInboxes.removeValue(forKey: id) }
        return inbox?.close() ?? []
    }

    /// Hands a lane connection to its migration's session; false if no migration with that id runs here.
    func offerLane(_ lane: OfferedLane) -> Bool {
        guard let inbox = lock.withLock({ laneInboxes[lane.hello.id] }) else { return false }
        return inbox.offer(lane)
    }

    func expectation(for id: MigrationID) -> Expectation? {
        lock.withLock { expected.removeValue(forKey: id) }
    }

    func update(_ id: String, _ change: (inout MigrationProgress) -> Void) {
        lock.withLock {
            if var record = progress[id] {
                change(&record)
                progress[id] = record
            }
        }
    }

    func begin(_ record: MigrationProgress) {
        lock.withLock { progress[record.id] = record }
    }

    func record(_ id: String) -> MigrationProgress? { lock.withLock { progress[id] } }

    func awaitDecision(_ id: String, _ decide: @escaping @Sendable (ResolveDecision) -> Result<String, ConfigurationError>) {
        lock.withLock { pendingDecisions[id] = decide }
    }

    // MARK: control

    func status(_ id: String) throws -> MigrationProgress {
        guard let record = record(id) else { throw ControlError(.notFound, "no migration \(id) on \(host.settings.name)") }
        return record
    }

    func resolve(_ id: String, _ decision: ResolveDecision) throws -> ResolveResult {
        guard let decide = lock.withLock({ pendingDecisions.removeValue(forKey: id) }) else {
            // A destination still waiting for a commit that cannot arrive: the coordinator's
            // "keep" settles it now, and a later loss of the connection needs no decision.
            if decision == .keep, let record = record(id), record.role == .destination, record.vmRunningHere {
                _ = lock.withLock { settled.insert(id) }
                update(id) { $0.status = .completed }
                return ResolveResult(outcome: "\(record.vm) stays on \(host.settings.name)")
            }
            throw ControlError(.refused, "migration \(id) is not waiting for a decision on \(host.settings.name)")
        }
        switch decide(decision) {
        case let .success(text): return ResolveResult(outcome: text)
        case let .failure(error):
            awaitDecision(id, decide)
            throw ControlError(.refused, error.message)
        }
    }

    func cancel(_ id: String) {
        update(id) { $0.error = "cancel requested" }
        _ = lock.withLock { cancelRequests.insert(id) }
    }

    func probe(datastore name: String, file: String) throws -> ProbeResult {
        let store = try host.datastore(named: name)
        guard !file.isEmpty, !file.contains("/"), file != ".", file != ".." else {
            throw ControlError(.invalidArgument, "probe file must be a plain name, not \"\(file)\"")
        }
        return ProbeResult(present: FileManager.default.fileExists(atPath: "\(store.path)/\(file)"))
    }

    /// Whether one of the vMotion interfaces (vmk1 first, then vmk2) reaches `address`: each is tried
    /// bound to its own device, so an address on the second vMotion segment is reached only by vmk2.
    func reach(_ address: IPv4Address) -> ReachResult {
        ReachResult(reached: host.settings.vmotionNICs.contains { nic in
            CommandRunner.succeeds(["ping", "-c", "1", "-W", "1", "-I", nic.interface, address.description])
        })
    }

    /// The MTU preflight from this host: the vMotion interface's MTU, then a DF ping of exactly that
    /// size to `address` (`MTUProbe`). Only this host's vMotion interfaces may be named.
    func probeMTU(interface: String, to address: IPv4Address) throws -> MTUProbeResult {
        let nics = host.settings.vmotionNICs.map(\.interface)
        guard nics.contains(interface) else {
            throw ControlError(.invalidArgument, "\(interface) is not a vMotion interface of this host (it has: \(nics.joined(separator: ", ")))")
        }
        let link: String
        do {
            link = try CommandRunner.run(MTUProbe.linkArguments(interface: interface))
        } catch {
            return MTUProbeResult(mtu: nil, carried: false, failure: "cannot read the MTU of \(interface): \(error)")
        }
        guard let mtu = MTUProbe.mtu(fromLink: link) else {
            return MTUProbeResult(mtu: nil, carried: false, failure: "`ip -o link show` printed no MTU: \(link)")
        }
        do {
            try CommandRunner.run(MTUProbe.pingArguments(interface: interface, mtu: mtu, to: address))
            return MTUProbeResult(mtu: mtu, carried: true)
        } catch let error as CommandError {
            return MTUProbeResult(mtu: mtu, carried: false, failure: MTUProbe.failure(standardError: error.standardError, mtu: mtu))
        }
    }

    private var cancelRequests = Set<String>()
    private var settled = Set<String>()

    /// True if the coordinator already decided this migration (nothing left to ask it).
    func isSettled(_ id: String) -> Bool { lock.withLock { settled.contains(id) } }

    func takeCancelRequest(_ id: String) -> Bool {
        lock.withLock { cancelRequests.remove(id) != nil }
    }

    /// Destination preflight: the VM would fit here (datastore mounted, port group present, memory,
    /// no clash), then arms the listener for this migration id and secret.
    func prepare(_ arguments: MigratePrepareArguments) throws -> PrepareResult {
        let store = try host.datastore(named: arguments.datastore)
        let configuration = try store.loadConfiguration(of: arguments.vm)
        try host.stateLock.withLock {
            do { try host.inventory.check(configuration) } catch { throw ControlError(.refused, "\(error)") }
        }
        // Validated on decoding: 0...60000 ms each, so the conversion to nanoseconds cannot overflow.
        let schedule = arguments.announceMs.map { UInt64($0) * 1_000_000 }
        let expectation = Expectation(secret: arguments.secret, vm: arguments.vm, garp: arguments.garp,
                                      announceSchedule: schedule, dropAnnounces: arguments.dropAnnounces,
                                      encryption: arguments.encryption, streams: arguments.streams, mode: arguments.mode,
                                      announceIPv6: arguments.announceIPv6)
        lock.withLock { expected[arguments.id] = expectation }
        host.logger.info("prepared to receive \(arguments.vm) (migration \(arguments.id))")
        return PrepareResult(listening: "\(host.settings.vmkernelAddress):\(host.settings.migrationPort)")
    }

    /// Source: runs the migration to its end on this (control) thread and answers the final record.
    /// `arguments` arrive range-checked: their decoder runs `validate()`.
    func send(_ arguments: MigrateSendArguments) throws -> MigrationProgress {
        var policy = ConvergencePolicy()
        policy.downtimeTargetNanoseconds = Nanoseconds.from(milliseconds: arguments.downtimeMs)
        policy.switchoverShare = arguments.switchoverShare
        policy.maxRounds = arguments.maxRounds
        policy.maxTotalNanoseconds = Nanoseconds.from(seconds: arguments.maxSeconds)
        policy.autoConverge = arguments.autoConverge
        var migration = MigrationRequest(
            vm: arguments.vm, id: arguments.id, secret: arguments.secret, destinationIP: arguments.destination.rawValue,
            destinationPort: arguments.port, policy: policy,
            forwardGraceNanoseconds: Nanoseconds.from(milliseconds: arguments.graceMs), fault: arguments.fault)
        migration.encryption = arguments.encryption
        migration.stallTimeoutNanoseconds = Nanoseconds.from(seconds: arguments.stallSeconds)
        migration.streams = arguments.streams
        migration.paths = arguments.paths
        migration.mode = arguments.mode
        for path in arguments.paths where !host.settings.vmotionNICs.contains(where: { $0.interface == path.interface }) {
            let have = host.settings.vmotionNICs.map(\.interface).joined(separator: ", ")
            throw ControlError(.invalidArgument, "no vMotion interface \(path.interface) on \(host.settings.name) (it has: \(have))")
        }
        let hosted = try host.hostedVM(arguments.vm)
        if hosted.with({ $0.postcopyPages != nil }) {
            throw ControlError(.refused, "\(arguments.vm) is still receiving post-copy pages on \(host.settings.name); migrate it once that migration completed")
        }
        return SourceDriver(service: self, host: host, vm: hosted, request: migration).run()
    }
}
