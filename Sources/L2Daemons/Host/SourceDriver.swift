import Foundation
import L2Control
import L2Edge
import L2Guest
import L2Migration

/// Runs one outgoing migration: connects from vmk1 to the destination's listener, drives
/// `MigrationSource` over the kernel's TCP (`SourceLoop`), and carries out its actions on the VM
/// (stun, throttle, resume on failure, release on commit), then forwards late frames for the grace
/// period. Setup happens here, and so does the one decision about fault injection: with a fault plan
/// in the request, the loop runs over a `FaultInjectingPump` instead of the plain `StreamPump`.
struct SourceDriver {
    let service: MigrationService
    let host: HostDaemon
    let vm: HostedVM
    let request: MigrationRequest
    let lateFrames = LateFrameQueue()
    /// The migration's id as text, the key of its progress record (formatted once: the loop uses it
    /// on every turn).
    let id: String
    /// What the migration does to the VM besides copying it (resume, release, leave to the coordinator).
    let outgoing: OutgoingVM

    init(service: MigrationService, host: HostDaemon, vm: HostedVM, request: MigrationRequest) {
        self.service = service
        self.host = host
        self.vm = vm
        self.request = request
        id = request.id.description
        outgoing = OutgoingVM(host: host, vm: vm, service: service, id: id)
    }

    func run() -> MigrationProgress {
        var record = MigrationProgress(id: id, role: .source, vm: vm.name)
        record.total = vm.memory.byteCount
        service.begin(record)
        do {
            try vm.with { try $0.beginMigrationOut() }
        } catch {
            return finish(status: .failed, error: "\(error)")
        }
        let connection: TCPSocket
        do {
            connection = try TCPSocket.connect(from: host.settings.vmkernelAddress.rawValue, to: request.destinationIP,
                                               port: request.destinationPort, timeoutMilliseconds: 5000,
                                               sendBuffer: 1 << 20)
        } catch {
            let reason = "cannot reach the destination's vMotion listener \(TCPSocket.ipText(request.destinationIP)):\(request.destinationPort) from \(host.settings.vmkernel): \(error)"
            // Nothing reached the destination: nobody else announced the VM.
            outgoing.resume(reason: reason, announce: false)
            return finish(status: .failed, error: reason)
        }
        host.logger.info("migrating \(vm.name) to \(TCPSocket.ipText(request.destinationIP)) (migration \(id))")
        let configuration = vm.configuration
        let spec = MigrationSpec(vmName: configuration.name, mac: configuration.mac, ip: configuration.ip.address,
                                 memoryBytes: UInt64(vm.memory.byteCount), portGroup: configuration.portGroup, datastore: vm.datastore)
        var settings = MigrationSourceSettings(migrationID: request.id, secret: request.secret, encryption: request.encryption,
                                               convergence: request.policy,
                                               forwardGraceNanoseconds: request.forwardGraceNanoseconds)
        settings.lanes = request.streams
        settings.mode = request.mode
        settings.laneInterfaces = request.paths.isEmpty ? [host.settings.vmkernel] : request.paths.map(\.interface)
        let memory = vm.memory
        settings.populatedPages = { PageResidency.populated(base: UnsafeRawPointer(memory.base), pageCount: memory.pageCount) }
        var loop = SourceLoop(driver: self, source: MigrationSource(spec: spec, memory: vm.memory, settings: settings,
                                                                    now: SystemClock.wallNanoseconds()))
        return PumpSetup.run(over: StreamPump(connection: connection), fault: request.fault, hooks: faultHooks, &loop)
    }

    /// `migrate-recover`: a new connection to the destination, and the paused state machine runs on
    /// over it. If the destination cannot be reached, the migration stays paused (and parked).
    func recover(_ source: MigrationSource) -> MigrationProgress {
        service.update(id) { $0.status = .postcopyActive; $0.error = nil }
        let connection: TCPSocket
        do {
            connection = try TCPSocket.connect(from: host.settings.vmkernelAddress.rawValue, to: request.destinationIP,
                                               port: request.destinationPort, timeoutMilliseconds: 5000, sendBuffer: 1 << 20)
        } catch {
            service.park(id, driver: self, source: source)
            return finish(status: .postcopyPaused,
                          error: "recovery: cannot reach the destination's vMotion listener \(TCPSocket.ipText(request.destinationIP)):\(request.destinationPort): \(error); the VM stays paused there", source: source)
        }
        host.logger.info("recovering post-copy migration \(id) of \(vm.name)")
        var loop = SourceLoop(driver: self, source: source, recovering: true)
        return PumpSetup.run(over: StreamPump(connection: connection), fault: nil, hooks: faultHooks, &loop)
    }

    /// How a fault plan's firing shows: a warning in the log, a hold as the phase `held:<point>`.
    private var faultHooks: FaultHooks {
        let host = self.host, service = self.service, id = self.id
        return FaultHooks(log: { host.logger.warning("migration \(id): \($0)") },
                          reportPhase: { phase in service.update(id) { $0.phase = phase } })
    }

    /// Records how the migration ended (with the state machine's figures when it ran) and returns the record.
    func finish(status: MigrationProgressStatus, error: String?, source: MigrationSource? = nil) -> MigrationProgress {
        let now = SystemClock.wallNanoseconds()
        service.update(id) { record in
            record.status = status
            record.phase = source?.phase.rawValue ?? record.phase
            if let error { record.error = error }
            if let source {
                let result = record.result ?? source.result(now: now)
                record.result = result
                record.transferred = result.ram.transferred
                record.remaining = result.ram.remaining
                record.mbps = result.ram.mbps
                record.round = source.currentRound
            }
        }
        return service.record(id)!
    }
}

/// Frames that reached this host for a VM after it left, waiting to be forwarded to its new host.
final class LateFrameQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var frames: [[UInt8]] = []

    func append(_ frame: [UInt8]) { lock.withLock { if frames.count < 4096 { frames.append(frame) } } }
    func take() -> [[UInt8]] { lock.withLock { defer { frames.removeAll() }; return frames } }
}
