import L2Control
import L2Edge
import L2Guest
import L2Migration

/// The source driver's loop: feeds `MigrationSource` what the connection brings, the time and the
/// coordinator's cancel, writes what it produces, and carries out its actions in order. It runs over
/// whichever pump `PumpSetup` picked; at each turn, and right after the stun, it shows the pump the
/// state machine (`observe`), and handles what the pump reports then like anything else it reports.
struct SourceLoop: PumpUser {
    let driver: SourceDriver
    var source: MigrationSource
    /// A paused post-copy migration reconnecting (`migrate-recover`): it starts with the recovery
    /// hello instead of `hello`.
    var recovering = false

    mutating func use<Pump: MigrationPump>(_ pump: inout Pump) -> MigrationProgress {
        let request = driver.request, id = driver.id, service = driver.service, vm = driver.vm
        var pending = recovering ? source.recover(now: SystemClock.wallNanoseconds()) : source.start(now: SystemClock.wallNanoseconds())
        var outcome: (status: MigrationProgressStatus, error: String?)?
        var lingerUntil: UInt64?
        var lastProgress: UInt64 = 0
        var releaseDeadline: UInt64?
        var lastWriteProgress = SystemClock.monotonicNanoseconds()
        var lastPendingBytes = 0
        var lastUnacknowledged = Int.max
        // Lanes 1…N−1 when the migration runs over several streams (`SourceLoop+Lanes`).
        var lanes = LaneSet()

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
                    // goes in the final round). Every lane's pipe, with several streams.
                    pending += drainLanes(&pump, &lanes)
                    let (drained, replies) = drain(&pump)
                    for bytes in replies { pending += source.receive(bytes: bytes, now: SystemClock.wallNanoseconds()) }
                    guard source.phase == .stunning else { break }
                    if !drained { driver.host.logger.debug("migration \(id): the pipe drained only partly before the stun") }
                    let switchover = stun()
                    if source.phase == .switchover { source.finalPagesQueued(at: SystemClock.wallNanoseconds()) }
                    pending += handle(pump.observe(source, at: .stunned), &pump)
                    pending += switchover
                case let .throttle(percent):
                    vm.with { $0.setThrottle(percent: percent) }
                    service.update(id) { $0.throttle = percent }
                case let .resumeSource(reason):
                    driver.outgoing.resume(reason: reason)
                case .releaseSource:
                    // Drop our copy only once the destination's kernel has acknowledged the commit:
                    // a destination that died after resuming must not leave the VM running nowhere.
                    releaseDeadline = SystemClock.monotonicNanoseconds() + 2_000_000_000
                case let .awaitCoordinator(reason):
                    driver.outgoing.awaitCoordinator(reason: reason)
                    outcome = (.awaitingCoordinator, reason)
                case let .postcopyPaused(reason):
                    // The VM runs (paused) on the destination: it never runs here again, and the
                    // frozen memory stays for the pages the destination still lacks.
                    driver.service.update(id) { $0.vmHere = true; $0.vmRunningHere = false }
                    outcome = (.postcopyPaused, reason)
                case let .completed(result):
                    // The commit was queued just before: the state machine's own end time is when it
                    // heard `resumed`, before it proved the frozen memory (tens of ms for a large VM).
                    let committedAt = SystemClock.wallNanoseconds()
                    service.update(id) { $0.result = result; $0.committedAt = committedAt }
                    outcome = (.completed, nil)
                case let .failed(result):
                    service.update(id) { $0.result = result }
                    outcome = (result.status == .cancelled ? .cancelled : .failed, result.error)
                }
            }
            if let deadline = releaseDeadline {
                if !pump.hasPendingOutput && !pump.closed && pump.unacknowledgedBytes == 0 {
                    releaseDeadline = nil
                    let queue = driver.lateFrames
                    driver.outgoing.release(forwardingUntil: SystemClock.monotonicNanoseconds() + request.forwardGraceNanoseconds) {
                        queue.append($0)
                    }
                    lingerUntil = SystemClock.wallNanoseconds() + request.forwardGraceNanoseconds
                    for frame in forwardable(vm.stopHolding()) { pending += source.forwardFrame(frame, now: SystemClock.wallNanoseconds()) }
                    continue
                } else if pump.closed || SystemClock.monotonicNanoseconds() > deadline {
                    releaseDeadline = nil
                    let reason = "the destination did not acknowledge the commit (\(pump.closed ? "connection lost" : "timeout")); our copy is kept"
                    driver.outgoing.awaitCoordinator(reason: reason)
                    pump.abort()
                    lanes.closeAll()
                    return driver.finish(status: .awaitingCoordinator, error: reason, source: source)
                } else {
                    _ = pump.turn(timeoutMilliseconds: 1) { _ in }  // (nothing more to read: only the ack matters)
                    continue
                }
            }
            let now = SystemClock.wallNanoseconds()
            if let outcome, lingerUntil.map({ now >= $0 }) ?? true || pump.closed {
                pump.flushAndClose(milliseconds: 500)
                lanes.closeAll()
                if outcome.status == .postcopyPaused { service.park(id, driver: driver, source: source) }
                return driver.finish(status: outcome.status, error: outcome.error, source: source)
            }
            for frame in driver.lateFrames.take() { pending += source.forwardFrame(frame, now: now) }
            // Frames for the VM that reached us after the switchover message: on to the destination now.
            pending += queuedFrameActions(now: now)
            if service.takeCancelRequest(id) { pending += source.cancel(reason: "cancelled by the coordinator", now: now) }
            let observed = pump.observe(source, at: .turn)
            if !observed.isEmpty {
                pending += handle(observed, &pump)
                continue
            }
            pending += openLanes(&lanes)
            // Sends already sealed (forwarded frames) go out before anything `produce` seals after them.
            if !pending.isEmpty { continue }
            // Post-copy: little in flight, so a page the destination asks for does not wait behind
            // a socket buffer of pushed pages (QEMU sends such pages on a channel of their own).
            let postcopy = source.phase == .postcopy
            let roomInFlight = !postcopy || pump.unacknowledgedBytes + pump.pendingOutputBytes < Self.postcopyInFlightBytes
            if source.wantsToProduce && roomInFlight {
                let final = source.phase == .stunning
                pending += produceOnLanes(&pump, &lanes, now: now)
                if final && source.phase == .switchover { source.finalPagesQueued(at: SystemClock.wallNanoseconds()) }
            }
            let busy = pump.hasPendingOutput || !lanes.allDrained || source.wantsToProduce
            let (events, laneActions) = turnLanes(&pump, &lanes, timeoutMilliseconds: postcopy ? 1 : busy ? 2 : 5)
            pending += handle(events, &pump, pendingIsEmpty: pending.isEmpty)
            pending += laneActions + checkStalledLanes(&lanes)
            pending += source.tick(now: SystemClock.wallNanoseconds())
            let stillPending = pump.pendingOutputBytes
            // Bytes queued here, or (post-copy keeps little queued) in the socket, that move no more.
            let unacknowledged = pump.unacknowledgedBytes
            let idle = !pump.hasPendingOutput && (source.phase != .postcopy || unacknowledged == 0)
            if idle || stillPending != lastPendingBytes || unacknowledged < lastUnacknowledged {
                lastWriteProgress = SystemClock.monotonicNanoseconds()
                lastPendingBytes = stillPending
            } else if !pump.closed && SystemClock.monotonicNanoseconds() - lastWriteProgress > request.stallTimeoutNanoseconds {
                driver.host.logger.warning("migration \(id): the destination accepted no bytes for \(request.stallTimeoutNanoseconds / 1_000_000_000) s; giving up on the connection")
                pump.abort()
                pending += source.connectionLost(now: SystemClock.wallNanoseconds())
            }
            lastUnacknowledged = unacknowledged
            if now - lastProgress > 50_000_000 {
                lastProgress = now
                let snapshot = source.result(now: now)
                let phase = source.phase, round = source.currentRound
                service.update(id) { record in
                    record.status = record.status == .setup && phase != .setup ? .active : record.status
                    record.phase = phase.rawValue
                    record.round = round
                    record.transferred = snapshot.ram.transferred
                    record.remaining = snapshot.ram.remaining
                    record.mbps = snapshot.ram.mbps
                }
            }
        }
    }

    /// What the pump reported, to the state machine: bytes from the destination, or the connection
    /// lost. Frames queued for the VM go out first when no sealed bytes wait in the driver's pending
    /// actions (`pendingIsEmpty`): records must reach the wire in the order they were sealed.
    mutating func handle<Pump: MigrationPump>(_ events: [PumpEvent], _ pump: inout Pump,
                                                      pendingIsEmpty: Bool = false) -> [SourceAction] {
        var actions: [SourceAction] = []
        for event in events {
            switch event {
            case let .received(bytes):
                if pendingIsEmpty && actions.isEmpty { forwardQueuedFramesNow(&pump) }
                actions += source.receive(bytes: bytes, now: SystemClock.wallNanoseconds())
            case .closed:
                actions += source.connectionLost(now: SystemClock.wallNanoseconds())
            }
        }
        return actions
    }

    /// Frames for the VM that reached us during the switchover go to the destination now, on the wire,
    /// before the state machine handles the destination's next message: `resumed` makes it verify the
    /// frozen memory, which takes tens of milliseconds, and a ping queued behind that would come back
    /// that much later. Call only when no sealed bytes wait in the driver's pending actions (each
    /// forwarded frame is sealed with the next record number).
    private mutating func forwardQueuedFramesNow<Pump: MigrationPump>(_ pump: inout Pump) {
        let actions = queuedFrameActions(now: SystemClock.wallNanoseconds())
        guard !actions.isEmpty else { return }
        for case let .send(bytes) in actions { pump.enqueue(bytes) }
        pump.writeAvailable()
    }

    /// During the switchover: the frames queued for the VM since the stun, as sends to the destination.
    private mutating func queuedFrameActions(now: UInt64) -> [SourceAction] {
        guard source.phase == .switchover || source.phase == .postcopy else { return [] }
        return forwardable(driver.vm.takeQueuedFrames()).flatMap { source.forwardFrame($0, now: now) }
    }

    /// The frames that reached the VM here while it was stunned, to go to the destination; none with
    /// a grace of 0, which forwards nothing at all, as ESXi does not (they are dropped and logged).
    private func forwardable(_ frames: [[UInt8]]) -> [[UInt8]] {
        guard driver.request.forwardGraceNanoseconds == 0, !frames.isEmpty else { return frames }
        driver.host.logger.info("migration \(driver.id): \(frames.count) frame(s) for \(driver.vm.name) that arrived during the stun dropped (grace 0: nothing is forwarded)")
        return []
    }

    /// Writes out what is queued and waits until the destination has acknowledged nearly all of it
    /// (at most 2 s). Returns whether it fully drained.
    /// Anything the destination says meanwhile is returned, to be handed to the state machine.
    private func drain<Pump: MigrationPump>(_ pump: inout Pump) -> (Bool, [ArraySlice<UInt8>]) {
        let deadline = SystemClock.monotonicNanoseconds() + 2_000_000_000
        var received: [ArraySlice<UInt8>] = []
        while SystemClock.monotonicNanoseconds() < deadline && !pump.closed {
            if !pump.hasPendingOutput && pump.unacknowledgedBytes < 64 * 1024 { return (true, received) }
            _ = pump.turn(timeoutMilliseconds: 1) { received.append(Array($0)[...]) }
        }
        return (false, received)
    }

    /// Stuns the VM, then gives the state machine the vCPU state and the frames queued so far.
    private mutating func stun() -> [SourceAction] {
        let vm = driver.vm, id = driver.id
        let stunAt = SystemClock.wallNanoseconds()
        do {
            try vm.stun(now: SystemClock.monotonicNanoseconds())
        } catch {
            return source.cancel(reason: "could not stun \(vm.name): \(error)", now: stunAt)
        }
        let frozen = SystemClock.wallNanoseconds()
        let state = vm.with { $0.vcpuState }
        let vcpu = state.encoded(), workload = state.workload.encoded(), queued = forwardable(vm.takeQueuedFrames())
        let captured = SystemClock.wallNanoseconds()
        // Post-copy: the boot record, the UDP counter and the neighbour cache go before the resume
        // (the network responder touches them first), the rest after it.
        let hot = GuestLayout.hotPages
        let actions = source.stunned(vcpuState: vcpu, workloadState: workload, queuedFrames: queued, stunnedAt: stunAt,
                                     frozenAt: frozen, stateCapturedAt: captured, hotPages: hot, now: captured)
        driver.service.update(id) { $0.stunAt = stunAt; $0.vmRunningHere = false }
        return actions
    }
}
