import Foundation
import L2Control
import L2Edge
import L2Guest
import L2Migration
import L2Wire

/// Runs one outgoing migration: connects from vmk1 to the destination's listener, drives
/// `MigrationSource` over the kernel's TCP, and carries out its actions on the VM (stun, throttle,
/// resume on failure, release on commit), then forwards late frames for the grace period.
struct SourceDriver {
    let service: MigrationService
    let host: HostDaemon
    let vm: HostedVM
    let request: MigrationRequest
    private let lateFrames = LateFrameQueue()
    /// The migration's id as text, the key of its progress record (formatted once: the loop uses it
    /// on every turn).
    private let id: String

    init(service: MigrationService, host: HostDaemon, vm: HostedVM, request: MigrationRequest) {
        self.service = service
        self.host = host
        self.vm = vm
        self.request = request
        id = request.id.description
    }

    func run() -> MigrationProgress {
        var record = MigrationProgress(id: id, role: .source, vm: vm.name)
        record.total = vm.memory.byteCount
        service.begin(record)
        do {
            try vm.with { try $0.beginMigrationOut() }
        } catch {
            return finish(status: "failed", error: "\(error)")
        }
        let connection: TCPSocket
        do {
            connection = try TCPSocket.connect(from: host.settings.vmkernelAddress.rawValue, to: request.destinationIP,
                                               port: request.destinationPort, timeoutMilliseconds: 5000,
                                               sendBuffer: 1 << 20)
        } catch {
            try? vm.with { try $0.abortMigrationOut(now: SystemClock.monotonicNanoseconds()) }
            return finish(status: "failed", error: "cannot reach the destination's vMotion listener \(TCPSocket.ipText(request.destinationIP)):\(request.destinationPort) from \(host.settings.vmkernel): \(error)")
        }
        host.logger.info("migrating \(vm.name) to \(TCPSocket.ipText(request.destinationIP)) (migration \(id))")
        let configuration = vm.configuration
        let spec = MigrationSpec(vmName: configuration.name, mac: configuration.mac, ip: configuration.ip.address,
                                 memoryBytes: UInt64(vm.memory.byteCount), portGroup: configuration.portGroup, datastore: vm.datastore)
        var settings = MigrationSourceSettings(migrationID: request.id, secret: request.secret, encryption: request.encryption,
                                               convergence: request.policy,
                                               forwardGraceNanoseconds: request.forwardGraceNanoseconds)
        let memory = vm.memory
        settings.populatedPages = { PageResidency.populated(base: UnsafeRawPointer(memory.base), pageCount: memory.pageCount) }
        var source = MigrationSource(spec: spec, memory: vm.memory, settings: settings, now: SystemClock.wallNanoseconds())
        var pump = StreamPump(connection: connection)
        var pending = source.start(now: SystemClock.wallNanoseconds())
        var outcome: (status: String, error: String?)?
        var lingerUntil: UInt64?
        var lastProgress: UInt64 = 0
        var faultPending = request.fault
        var releaseDeadline: UInt64?
        var lastWriteProgress = SystemClock.monotonicNanoseconds()
        var lastPendingBytes = 0

        while true {
            // Carry out what the state machine asked for, in order.
            while !pending.isEmpty {
                let action = pending.removeFirst()
                switch action {
                case let .send(bytes):
                    pump.enqueue(bytes)
                case .stun:
                    // Pre-copy bytes still on their way would delay the switchover message behind
                    // them: let the pipe drain first (the VM keeps running; what it dirties meanwhile
                    // goes in the final round).
                    let (drained, replies) = drain(&pump)
                    for bytes in replies { pending += source.receive(bytes: bytes, now: SystemClock.wallNanoseconds()) }
                    guard source.phase == .stunning else { break }
                    let stunAt = SystemClock.wallNanoseconds()
                    let switchover = stun(&source)
                    if faultPending?.point == .stunned, fire(&faultPending, &pump) {
                        pending += source.connectionLost(now: SystemClock.wallNanoseconds())
                    }
                    pending += switchover
                    host.logger.debug("migration \(id): drained \(drained ? "fully" : "partly") before the stun; stunned at \(stunAt); switchover ready after \(Double(SystemClock.wallNanoseconds() - stunAt) / 1e6) ms")
                case let .throttle(percent):
                    vm.with { $0.setThrottle(percent: percent) }
                    service.update(id) { $0.throttle = percent }
                case let .resumeSource(reason):
                    resumeHere(reason: reason)
                case .releaseSource:
                    // Drop our copy only once the destination's kernel has acknowledged the commit:
                    // a destination that died after resuming must not leave the VM running nowhere.
                    releaseDeadline = SystemClock.monotonicNanoseconds() + 2_000_000_000
                case let .awaitCoordinator(reason):
                    awaitCoordinator(reason: reason)
                    outcome = ("awaiting-coordinator", reason)
                case let .completed(result):
                    service.update(id) { $0.result = result }
                    outcome = ("completed", nil)
                case let .failed(result):
                    service.update(id) { $0.result = result }
                    outcome = (result.status == .cancelled ? "cancelled" : "failed", result.error)
                }
            }
            if let deadline = releaseDeadline {
                if !pump.hasPendingOutput && !pump.closed && pump.connection.unacknowledgedBytes == 0 {
                    releaseDeadline = nil
                    release()
                    lingerUntil = SystemClock.wallNanoseconds() + request.forwardGraceNanoseconds
                    for frame in vm.stopHolding() { pending += source.forwardFrame(frame, now: SystemClock.wallNanoseconds()) }
                    continue
                } else if pump.closed || SystemClock.monotonicNanoseconds() > deadline {
                    releaseDeadline = nil
                    let reason = "the destination did not acknowledge the commit (\(pump.closed ? "connection lost" : "timeout")); our copy is kept"
                    awaitCoordinator(reason: reason)
                    outcome = ("awaiting-coordinator", reason)
                    pump.abort()
                    return finish(status: outcome!.status, error: outcome!.error, source: source)
                } else {
                    _ = pump.turn(timeoutMilliseconds: 1) { _ in }  // (nothing more to read: only the ack matters)
                    continue
                }
            }
            let now = SystemClock.wallNanoseconds()
            if let outcome, lingerUntil.map({ now >= $0 }) ?? true || pump.closed {
                pump.flushAndClose(milliseconds: 500)
                return finish(status: outcome.status, error: outcome.error, source: source)
            }
            for frame in lateFrames.take() { pending += source.forwardFrame(frame, now: now) }
            // Frames for the VM that reached us after the switchover message: on to the destination now.
            pending += queuedFrameActions(&source, now: now)
            if service.takeCancelRequest(id) { pending += source.cancel(reason: "cancelled by the coordinator", now: now) }
            if let plan = faultPending {
                let reached: Bool
                switch plan.point {
                case .round1: reached = source.currentRound == 1 && source.result(now: now).ram.transferred > 8 << 20
                case .round2: reached = source.currentRound >= 2 && source.phase == .precopy
                case .switchover: reached = source.phase == .switchover && !pump.hasPendingOutput
                case .stunned: reached = false
                }
                if reached && fire(&faultPending, &pump) {
                    pending += source.connectionLost(now: SystemClock.wallNanoseconds())
                    continue
                }
            }
            if source.wantsToProduce {
                pump.refill { buffer in pending += source.produce(into: &buffer, budget: 1 << 20, now: now) }
            }
            let busy = pump.hasPendingOutput || source.wantsToProduce
            for event in pump.turn(timeoutMilliseconds: busy ? 2 : 5) {
                switch event {
                case let .received(bytes):
                    // Only with nothing sealed still waiting in `pending`: records must reach the wire
                    // in the order they were sealed.
                    if pending.isEmpty { forwardQueuedFramesNow(&source, &pump) }
                    pending += source.receive(bytes: bytes, now: SystemClock.wallNanoseconds())
                case .closed: pending += source.connectionLost(now: SystemClock.wallNanoseconds())
                }
            }
            pending += source.tick(now: SystemClock.wallNanoseconds())
            let stillPending = pump.pendingOutputBytes
            if !pump.hasPendingOutput || stillPending != lastPendingBytes {
                lastWriteProgress = SystemClock.monotonicNanoseconds()
                lastPendingBytes = stillPending
            } else if !pump.closed && SystemClock.monotonicNanoseconds() - lastWriteProgress > request.stallTimeoutNanoseconds {
                host.logger.warning("migration \(id): the destination accepted no bytes for \(request.stallTimeoutNanoseconds / 1_000_000_000) s; giving up on the connection")
                pump.abort()
                pending += source.connectionLost(now: SystemClock.wallNanoseconds())
            }
            if now - lastProgress > 50_000_000 {
                lastProgress = now
                let snapshot = source.result(now: now)
                service.update(id) { record in
                    record.status = record.status == "setup" && source.phase != .setup ? "active" : record.status
                    record.phase = source.phase.rawValue
                    record.round = source.currentRound
                    record.transferred = snapshot.ram.transferred
                    record.remaining = snapshot.ram.remaining
                    record.mbps = snapshot.ram.mbps
                }
            }
        }
    }

    /// Frames for the VM that reached us during the switchover go to the destination now, on the wire,
    /// before the state machine handles the destination's next message: `resumed` makes it verify the
    /// frozen memory, which takes tens of milliseconds, and a ping queued behind that would come back
    /// that much later. Call only when no sealed bytes wait in the driver's pending actions (each
    /// forwarded frame is sealed with the next record number).
    private func forwardQueuedFramesNow(_ source: inout MigrationSource, _ pump: inout StreamPump) {
        let actions = queuedFrameActions(&source, now: SystemClock.wallNanoseconds())
        guard !actions.isEmpty else { return }
        for case let .send(bytes) in actions { pump.enqueue(bytes) }
        pump.writeAvailable()
    }

    /// During the switchover: the frames queued for the VM since the stun, as sends to the destination.
    private func queuedFrameActions(_ source: inout MigrationSource, now: UInt64) -> [SourceAction] {
        guard source.phase == .switchover else { return [] }
        return vm.takeQueuedFrames().flatMap { source.forwardFrame($0, now: now) }
    }

    /// Carries out the planned fault once. Returns true if the connection is now gone.
    private func fire(_ plan: inout FaultPlan?, _ pump: inout StreamPump) -> Bool {
        guard let fault = plan else { return false }
        plan = nil
        host.logger.warning("migration \(id): fault injection: \(fault.action.rawValue) at \(fault.point.rawValue)")
        switch fault.action {
        case .hold:
            service.update(id) { $0.phase = "held:\(fault.point.rawValue)" }
            SystemClock.sleep(nanoseconds: UInt64(fault.holdMs) * 1_000_000)
            return false
        case .corrupt:
            pump.corruptNextByte()
            return false
        case .truncate:
            pump.truncateAndClose()
            return true
        }
    }

    /// Writes out what is queued and waits until the destination has acknowledged nearly all of it
    /// (at most 2 s). Returns whether it fully drained.
    /// Anything the destination says meanwhile is returned, to be handed to the state machine.
    private func drain(_ pump: inout StreamPump) -> (Bool, [ArraySlice<UInt8>]) {
        let deadline = SystemClock.monotonicNanoseconds() + 2_000_000_000
        var received: [ArraySlice<UInt8>] = []
        while SystemClock.monotonicNanoseconds() < deadline && !pump.closed {
            if !pump.hasPendingOutput && pump.connection.unacknowledgedBytes < 64 * 1024 { return (true, received) }
            _ = pump.turn(timeoutMilliseconds: 1) { received.append(Array($0)[...]) }
        }
        return (false, received)
    }

    /// Stuns the VM, then gives the state machine the vCPU state and the frames queued so far.
    private func stun(_ source: inout MigrationSource) -> [SourceAction] {
        let stunAt = SystemClock.wallNanoseconds()
        do {
            try vm.stun(now: SystemClock.monotonicNanoseconds())
        } catch {
            return source.cancel(reason: "could not stun \(vm.name): \(error)", now: stunAt)
        }
        let frozen = SystemClock.wallNanoseconds()
        service.update(id) { $0.stunAt = stunAt; $0.vmRunningHere = false }
        let state = vm.with { $0.vcpuState }
        let captured = SystemClock.wallNanoseconds()
        let actions = source.stunned(vcpuState: state.encoded(), workloadState: state.workload.encoded(),
                                     queuedFrames: vm.takeQueuedFrames(), stunnedAt: stunAt, now: SystemClock.wallNanoseconds())
        let encoded = SystemClock.wallNanoseconds()
        host.logger.debug("migration \(id): freeze \(Double(frozen - stunAt) / 1e6) ms, state \(Double(captured - frozen) / 1e6) ms, final round \(Double(encoded - captured) / 1e6) ms")
        return actions
    }

    /// The migration failed before the destination ran the VM: it runs on here, frames answered.
    private func resumeHere(reason: String) {
        let now = SystemClock.monotonicNanoseconds()
        vm.with { machine in
            try? machine.abortMigrationOut(now: now)
            machine.setThrottle(percent: 0)
        }
        for reply in vm.answer(vm.stopHolding(), now: now) { host.sendFromVM(reply, source: vm.mac) }
        service.update(id) { $0.vmRunningHere = true; $0.vmHere = true; $0.throttle = 0 }
        announceHere()
        host.logger.warning("migration \(id) of \(vm.name) failed; it keeps running here: \(reason)")
    }

    /// The VM runs here again after the destination may already have announced it: tell the switch
    /// (RARP) and the peers (gratuitous ARP) where it is, as a destination would.
    private func announceHere() {
        Announcer(host: host, mac: vm.mac, ip: vm.configuration.ip.address, schedule: Announcer.defaultSchedule,
                  garp: true, migration: id, service: service).start(resumedMonotonic: SystemClock.monotonicNanoseconds())
    }

    /// The destination runs the VM and the copy is proved: drop ours, forward its late frames.
    private func release() {
        let queue = lateFrames
        host.release(vm: vm, forwardingUntil: SystemClock.monotonicNanoseconds() + request.forwardGraceNanoseconds) { frame in
            queue.append(frame)
        }
        service.update(id) { $0.vmHere = false; $0.vmRunningHere = false }
        host.logger.info("migration \(id): \(vm.name) runs on the destination; released here")
    }

    /// Outcome unknown (the link died after the switchover): stay stunned until the coordinator decides.
    private func awaitCoordinator(reason: String) {
        service.update(id) { $0.vmHere = true; $0.vmRunningHere = false }
        let vm = self.vm, host = self.host, id = self.id, service = self.service
        service.awaitDecision(id) { decision in
            switch decision {
            case "resume":
                let now = SystemClock.monotonicNanoseconds()
                vm.with { machine in
                    try? machine.abortMigrationOut(now: now)
                    machine.setThrottle(percent: 0)
                }
                for reply in vm.answer(vm.stopHolding(), now: now) { host.sendFromVM(reply, source: vm.mac) }
                service.update(id) { $0.vmRunningHere = true; $0.status = "failed" }
                Announcer(host: host, mac: vm.mac, ip: vm.configuration.ip.address, schedule: Announcer.defaultSchedule,
                          garp: true, migration: id, service: service).start(resumedMonotonic: SystemClock.monotonicNanoseconds())
                return .success("\(vm.name) resumed on \(host.settings.name)")
            case "release":
                host.release(vm: vm, forwardingUntil: 0) { _ in }
                service.update(id) { $0.vmHere = false; $0.status = "completed" }
                return .success("\(vm.name) released on \(host.settings.name)")
            default:
                return .failure(ConfigurationError("decision must be resume or release, got \(decision)"))
            }
        }
        host.logger.warning("migration \(id) of \(vm.name): outcome unknown, VM stays stunned until the coordinator decides: \(reason)")
    }

    private func finish(status: String, error: String?, source: MigrationSource? = nil) -> MigrationProgress {
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
