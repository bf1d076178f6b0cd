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
    private let lock = NSLock()
    private var listener: TCPSocket?
    private var expected: [MigrationID: Expectation] = [:]
    private var progress: [String: MigrationProgress] = [:]
    /// Migrations waiting for the coordinator's decision, by id, with how to carry it out.
    private var pendingDecisions: [String: @Sendable (String) -> Result<String, ConfigurationError>] = [:]
    private var stopped = false

    struct Expectation: Sendable {
        let secret: MigrationSecret
        let vm: String
        let garp: Bool
        let announceSchedule: [UInt64]
        let encryption: MigrationEncryptionMode
    }

    /// The `encryption` argument (default opportunistic), or an error naming the modes.
    static func encryptionMode(_ request: ControlRequest) throws -> MigrationEncryptionMode {
        let text = request.arguments["encryption"] ?? "opportunistic"
        guard let mode = MigrationEncryptionMode(rawValue: text) else {
            throw ConfigurationError("encryption must be disabled, opportunistic or required, got \(text)")
        }
        return mode
    }

    init(host: HostDaemon) { self.host = host }

    /// Listens on the vMotion interface's address. Only `migrate-prepare`d ids are accepted.
    func startListening() throws {
        let socket = try TCPSocket.listen(ip: host.settings.vmkernelAddress.rawValue, port: host.settings.migrationPort,
                                          receiveBuffer: 2 << 20)
        lock.withLock { listener = socket }
        NamedThread.start("vmotion-listen") { [self] in acceptLoop(socket) }
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

    func awaitDecision(_ id: String, _ decide: @escaping @Sendable (String) -> Result<String, ConfigurationError>) {
        lock.withLock { pendingDecisions[id] = decide }
    }

    // MARK: control

    func handle(_ request: ControlRequest) -> ControlReply? {
        do {
            switch request.command {
            case "migrate-prepare":
                return .result(try prepare(request))
            case "migrate-send":
                return .result(try send(request))
            case "migration-status":
                let id = try request.required("id")
                guard let record = record(id) else { throw ConfigurationError("no migration \(id) on \(host.settings.name)") }
                return .result(record)
            case "migration-resolve":
                let id = try request.required("id")
                let decision = try request.required("decision")
                guard let decide = lock.withLock({ pendingDecisions.removeValue(forKey: id) }) else {
                    // A destination still waiting for a commit that cannot arrive: the coordinator's
                    // "keep" settles it now, and a later loss of the connection needs no decision.
                    if decision == "keep", let record = record(id), record.role == .destination, record.vmRunningHere {
                        _ = lock.withLock { settled.insert(id) }
                        update(id) { $0.status = "completed" }
                        return .result(["outcome": "\(record.vm) stays on \(host.settings.name)"])
                    }
                    throw ConfigurationError("migration \(id) is not waiting for a decision on \(host.settings.name)")
                }
                switch decide(decision) {
                case let .success(text): return .result(["outcome": text])
                case let .failure(error):
                    awaitDecision(id, decide)
                    throw error
                }
            case "migrate-cancel":
                let id = try request.required("id")
                update(id) { $0.error = "cancel requested" }
                _ = lock.withLock { cancelRequests.insert(id) }
                return .done
            case "datastore-probe":
                let store = try host.datastore(named: try request.required("datastore"))
                let file = try request.required("file")
                guard !file.contains("/") && !file.contains("..") else { throw ConfigurationError("probe file must be a plain name") }
                return .result(["present": FileManager.default.fileExists(atPath: "\(store.path)/\(file)")])
            case "vmotion-reach":
                let address = try request.required("address")
                guard IPv4Address(address) != nil else { throw ConfigurationError("\(address) is not an IPv4 address") }
                let reached = CommandRunner.succeeds(["ping", "-c", "1", "-W", "1", "-I", host.settings.vmkernel, address])
                return .result(["reached": reached])
            default:
                return nil
            }
        } catch {
            return .failure("\(error)")
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
    private func prepare(_ request: ControlRequest) throws -> [String: String] {
        let idText = try request.required("id")
        guard let id = MigrationID(idText) else { throw ConfigurationError("migration id \(idText) is not 32 hex digits") }
        guard let secretBytes = Hex.decode(try request.required("secret")), let secret = MigrationSecret(bytes: secretBytes) else {
            throw ConfigurationError("the migration secret must be 64 hex digits")
        }
        let vm = try request.required("vm")
        let datastoreName = try request.required("datastore")
        let store = try host.datastore(named: datastoreName)
        let configuration = try store.loadConfiguration(of: vm)
        try host.stateLock.withLock {
            do { try host.inventory.check(configuration) } catch { throw ConfigurationError("\(error)") }
        }
        let schedule = (request.arguments["announce-ms"] ?? "0,50,200,450,800").split(separator: ",").compactMap { UInt64($0) }
        guard !schedule.isEmpty else { throw ConfigurationError("announce-ms must be a list of milliseconds like 0,50,200,450,800") }
        let expectation = Expectation(secret: secret, vm: vm, garp: request.arguments["garp"] == "true",
                                      announceSchedule: schedule.map { $0 * 1_000_000 }, encryption: try Self.encryptionMode(request))
        lock.withLock { expected[id] = expectation }
        host.logger.info("prepared to receive \(vm) (migration \(id))")
        return ["listening": "\(host.settings.vmkernelAddress):\(host.settings.migrationPort)"]
    }

    /// Source: runs the migration to its end on this (control) thread and answers the final record.
    private func send(_ request: ControlRequest) throws -> MigrationProgress {
        let vm = try request.required("vm")
        let idText = try request.required("id")
        guard let id = MigrationID(idText) else { throw ConfigurationError("migration id \(idText) is not 32 hex digits") }
        guard let secretBytes = Hex.decode(try request.required("secret")), let secret = MigrationSecret(bytes: secretBytes) else {
            throw ConfigurationError("the migration secret must be 64 hex digits")
        }
        guard let destination = IPv4Address(try request.required("destination")) else {
            throw ConfigurationError("destination must be the destination host's vMotion IPv4 address")
        }
        var policy = ConvergencePolicy()
        if let text = request.arguments["downtime-ms"], let value = Double(text), value > 0 {
            policy.downtimeTargetNanoseconds = UInt64(value * 1e6)
        }
        if let text = request.arguments["switchover-share"] {
            guard let value = Double(text), (0...1).contains(value) else {
                throw ConfigurationError("switchover-share must be a number from 0 to 1, not \"\(text)\"")
            }
            policy.switchoverShare = value
        }
        if let text = request.arguments["max-rounds"], let value = Int(text), value > 0 { policy.maxRounds = value }
        if let text = request.arguments["max-seconds"], let value = Double(text), value > 0 {
            policy.maxTotalNanoseconds = UInt64(value * 1e9)
        }
        if request.arguments["auto-converge"] == "false" { policy.autoConverge = false }
        var migration = MigrationRequest(
            vm: vm, id: id, secret: secret, destinationIP: destination.rawValue,
            destinationPort: UInt16(request.arguments["port"] ?? "") ?? 8000, policy: policy,
            forwardGraceNanoseconds: UInt64((Double(request.arguments["grace-ms"] ?? "") ?? 2000) * 1e6), fault: nil)
        var plan: FaultPlan?
        if let pointText = request.arguments["fault-point"] {
            guard let point = FaultPlan.Point(rawValue: pointText) else {
                throw ConfigurationError("fault-point must be one of \(FaultPlan.Point.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let action = FaultPlan.Action(rawValue: request.arguments["fault-action"] ?? "hold") else {
                throw ConfigurationError("fault-action must be hold, corrupt or truncate")
            }
            plan = FaultPlan(point: point, action: action, holdMs: Int(request.arguments["hold-ms"] ?? "") ?? 3000)
        }
        migration.fault = plan
        migration.encryption = try Self.encryptionMode(request)
        if let text = request.arguments["stall-seconds"], let value = Double(text), value > 0 {
            migration.stallTimeoutNanoseconds = UInt64(value * 1e9)
        }
        let hosted = try host.hostedVM(vm)
        return SourceDriver(service: self, host: host, vm: hosted, request: migration).run()
    }
}
