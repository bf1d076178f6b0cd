import Foundation
import L2Control
import L2Edge
import L2Guest
import L2Migration
import L2Wire

/// Runs one incoming migration on an accepted vMotion connection: reads the hello to find which
/// prepared migration it is, drives `MigrationDestination`, creates the VM from the shared
/// datastore, resumes it when the copy is proved, announces it (RARP on QEMU's schedule), and
/// delivers frames the source forwards.
struct DestinationDriver {
    let service: MigrationService
    let host: HostDaemon
    let connection: TCPSocket
    let peer: UInt32

    func run() {
        var pump = StreamPump(connection: connection)
        // 1. The hello names the migration; nothing is created for an id nobody prepared.
        var peek = MigrationDecoder()
        var received: [UInt8] = []
        let deadline = SystemClock.monotonicNanoseconds() + 10_000_000_000
        var hello: (MigrationID, Expectation)?
        while hello == nil {
            guard !pump.closed, SystemClock.monotonicNanoseconds() < deadline else {
                host.logger.warning("vMotion connection from \(TCPSocket.ipText(peer)) sent no hello; closed")
                connection.close()
                return
            }
            _ = pump.turn(timeoutMilliseconds: 50) { bytes in
                received.append(contentsOf: bytes)
                peek.append(bytes)
            }
            do {
                if let message = try peek.next() {
                    if case let .laneHello(laneHello) = message {
                        handOver(OfferedLane(hello: laneHello, connection: connection, rest: peek.takeUnread(), peer: peer))
                        return
                    }
                    guard case let .hello(id, _, _) = message else {
                        host.logger.warning("vMotion connection from \(TCPSocket.ipText(peer)) did not start with hello (\(message.type)); closed")
                        connection.close()
                        return
                    }
                    guard let expectation = service.expectation(for: id) else {
                        host.logger.warning("vMotion connection from \(TCPSocket.ipText(peer)) for migration \(id), which was not prepared here; refused")
                        var refusal = StreamPump(connection: connection)
                        refusal.enqueue(MigrationEncoder.encode(.abort(reason: "migration \(id) was not prepared on \(host.settings.name)")))
                        refusal.flushAndClose(milliseconds: 200)
                        return
                    }
                    hello = (id, expectation)
                }
            } catch {
                host.logger.warning("vMotion connection from \(TCPSocket.ipText(peer)): \(error); closed")
                connection.close()
                return
            }
        }
        let (id, expectation) = hello!
        Session(service: service, host: host, id: id, expectation: expectation).run(pump: &pump, firstBytes: received)
    }

    /// A lane of a migration: to its session if it runs here, else refused with the reason.
    private func handOver(_ lane: OfferedLane) {
        guard !service.offerLane(lane) else { return }
        host.logger.warning("vMotion connection from \(TCPSocket.ipText(peer)) opened lane \(lane.hello.lane) of migration \(lane.hello.id), which does not run here; refused")
        Self.refuse(lane, reason: "migration \(lane.hello.id) does not run on \(host.settings.name)")
    }

    /// Tells a lane's source why it is refused (in clear: the lane was never admitted), then closes it.
    static func refuse(_ lane: OfferedLane, reason: String) {
        var pump = StreamPump(connection: lane.connection)
        pump.enqueue(MigrationEncoder.encode(.abort(reason: reason)))
        pump.writeAvailable()
        lane.connection.close()
    }

    typealias Expectation = MigrationService.Expectation

    /// One accepted migration from the hello on.
    final class Session {
        let service: MigrationService
        let host: HostDaemon
        let id: MigrationID
        let expectation: Expectation
        var destination: MigrationDestination
        var hosted: HostedVM?
        /// The migration's id as text, the key of its progress record (formatted once: the loop uses
        /// it on every turn).
        let key: String

        init(service: MigrationService, host: HostDaemon, id: MigrationID, expectation: Expectation) {
            self.service = service
            self.host = host
            self.id = id
            self.expectation = expectation
            key = id.description
            let labels = Set(host.portGroupLabels())
            let free = host.stateLock.withLock { host.inventory.freeMemoryMiB }
            var settings = MigrationDestinationSettings(
                migrationID: id, secret: expectation.secret, encryption: expectation.encryption, maxMemoryBytes: UInt64(max(free, 0)) << 20, portGroups: labels,
                datastores: Set(host.settings.datastores.keys))
            settings.lanes = expectation.streams
            settings.acceptsPostcopy = expectation.mode != .precopy
            destination = MigrationDestination(settings: settings, now: SystemClock.wallNanoseconds())
        }


        func run(pump: inout StreamPump, firstBytes: [UInt8]) {
            service.begin(MigrationProgress(id: key, role: .destination, vm: expectation.vm))
            // Lanes 1…N−1 of a migration over several streams (`DestinationDriver+Lanes`).
            let inbox = service.openLanes(for: id)
            var lanes = LaneSet()
            defer { closeLanes(&lanes) }
            var pending = destination.receive(bytes: firstBytes, now: SystemClock.wallNanoseconds())
            var done = false
            var lastProgress: UInt64 = 0
            while true {
                while !pending.isEmpty {
                    let action = pending.removeFirst()
                    switch action {
                    case let .send(bytes): pump.enqueue(bytes)
                    case let .allocateMemory(spec): pending += allocate(spec)
                    case .confirmSwitchover:
                        let asked = SystemClock.monotonicNanoseconds()
                        let readiness = SwitchoverReadiness.check(host: host, vm: hosted, spec: destination.spec,
                                                                  storedPages: destination.storedPageBits)
                        if let refusal = readiness.refusal {
                            host.logger.warning("migration \(id): switchover refused: \(refusal)")
                        }
                        host.logger.debug("migration \(id): readiness checked in \(Double(SystemClock.monotonicNanoseconds() - asked) / 1e6) ms")
                        pending += destination.switchoverReadiness(refusal: readiness.refusal, detail: readiness.detail,
                                                                   now: SystemClock.wallNanoseconds())
                    case let .resumeVM(state):
                        pending += resume(state, verifiedAt: SystemClock.wallNanoseconds())
                    case let .deliverFrame(frame): deliver(frame)
                    case let .discard(reason):
                        discard(reason: reason)
                        done = true
                    case let .awaitCoordinator(reason):
                        awaitCoordinator(reason: reason)
                        done = true
                    case let .resumeVMPostcopy(state, missing):
                        pending += resume(state, verifiedAt: SystemClock.wallNanoseconds(), missingPages: missing)
                    case let .pagesArrived(pages):
                        if let hosted {
                            let now = SystemClock.monotonicNanoseconds()
                            for reply in hosted.with({ $0.pagesArrived(pages, now: now) }) { host.sendFromVM(reply, source: hosted.mac) }
                        }
                    case let .pauseVM(reason):
                        pause(reason: reason)
                        pump.abort()
                    case .unpauseVM:
                        unpause()
                    case let .completed(report):
                        service.update(key) { $0.status = .completed; $0.destination = report }
                        host.logger.info("migration \(id): \(expectation.vm) committed; it is \(host.settings.name)'s now")
                    }
                }
                if done || pump.closed && destination.phase == .committed {
                    pump.flushAndClose(milliseconds: 500)
                    return
                }
                if destination.phase == .postcopyPaused {
                    // Paused post-copy: wait for the source to reconnect (`migrate --recover`), or for
                    // the coordinator to say the source is gone (the VM is lost: it stops here).
                    if service.takeCancelRequest(key) {
                        loseVM()
                        return
                    }
                    for offered in inbox.take() {
                        let now = SystemClock.wallNanoseconds()
                        if let actions = destination.recover(with: offered.hello, now: now) {
                            pump = StreamPump(connection: offered.connection)
                            pending += actions + destination.receive(bytes: offered.rest, now: now)
                            host.logger.info("migration \(id): recovered over a new connection (lane \(offered.hello.lane))")
                        } else {
                            DestinationDriver.refuse(offered, reason: "migration \(id) is not paused here, or the recovery hello does not verify")
                        }
                    }
                    if pending.isEmpty { usleep(5_000) }
                    continue
                }
                if service.takeCancelRequest(key), [.awaitingHello, .awaitingSpec, .allocating, .receiving].contains(destination.phase) {
                    discard(reason: "cancelled by the coordinator: the VM stays on the source")
                    pump.abort()
                    return
                }
                pending += adopt(inbox.take(), into: &lanes)
                // Post-copy: the pages the VM waits for go out at once, and the loop looks often.
                let postcopy = destination.missingPageCount > 0
                if postcopy, let hosted {
                    let faults = hosted.with { $0.takeFaults() }
                    if !faults.isEmpty { pending += destination.pageFault(faults, now: SystemClock.wallNanoseconds()) }
                }
                pending += turn(&pump, &lanes, timeoutMilliseconds: postcopy ? 1 : 5)
                let now = SystemClock.wallNanoseconds()
                pending += destination.tick(now: now)
                if now - lastProgress > 50_000_000 {
                    lastProgress = now
                    let report = destination.currentReport
                    let phase = destination.phase.rawValue
                    service.update(key) { record in
                        record.phase = phase
                        record.destination = report
                        record.transferred = report.bytesReceived
                        if record.status == .setup { record.status = .active }
                    }
                }
            }
        }

        /// Reads the VM's configuration from the shared datastore and admits an empty copy of it.
        private func allocate(_ spec: MigrationSpec) -> [DestinationAction] {
            let now = SystemClock.wallNanoseconds()
            do {
                guard spec.vmName == expectation.vm else {
                    throw ConfigurationError("the source sends \(spec.vmName), but \(expectation.vm) was prepared")
                }
                let configuration = try host.datastore(named: spec.datastore).loadConfiguration(of: spec.vmName)
                guard configuration.mac == spec.mac, UInt64(configuration.memoryBytes) == spec.memoryBytes else {
                    throw ConfigurationError("the datastore's configuration of \(spec.vmName) does not match the source's (MAC or memory differ)")
                }
                let machine: VirtualMachine
                do { machine = try VirtualMachine(incoming: configuration) } catch { throw ConfigurationError("\(error)") }
                machine.hostName = host.settings.name
                let vm = HostedVM(vm: machine, datastore: spec.datastore)
                try host.admit(vm)
                hosted = vm
                service.update(key) { $0.total = Int(spec.memoryBytes); $0.vmHere = true }
                return destination.memoryAllocated(machine.memory, now: now)
            } catch {
                host.logger.warning("migration \(id): cannot take \(spec.vmName): \(error)")
                return destination.memoryAllocationFailed(reason: "\(error)", now: now)
            }
        }

        /// The copy is proved (or, in post-copy, the pages it lacks are listed): load the vCPU state,
        /// run the VM, announce it, deliver what was queued.
        private func resume(_ state: SwitchoverState, verifiedAt: UInt64, missingPages: Int? = nil) -> [DestinationAction] {
            guard let hosted else { return [] }
            do {
                let vcpu = try VCPUState(bytes: state.vcpuState)
                let monotonic = SystemClock.monotonicNanoseconds()
                let missing = missingPages == nil ? nil : destination.missingPageBits
                try hosted.with { machine in
                    try machine.restore(vcpuState: vcpu)
                    if let missing {
                        try machine.resumePostcopy(now: monotonic, missing: missing)
                    } else {
                        try machine.resume(now: monotonic)
                    }
                }
            } catch {
                host.logger.error("migration \(id): could not resume \(hosted.name): \(error)")
                return []
            }
            let resumedAt = SystemClock.wallNanoseconds()
            let announcer = Announcer(host: host, mac: hosted.mac, ip: hosted.configuration.ip.address,
                                      schedule: expectation.announceSchedule, drop: expectation.dropAnnounces, garp: expectation.garp,
                                      neighborAdvertisements: expectation.announceIPv6 == .na ? hosted : nil,
                                      migration: key, service: service)
            announcer.start(resumedMonotonic: SystemClock.monotonicNanoseconds())
            service.update(key) { $0.resumedAt = resumedAt; $0.vmRunningHere = true; $0.status = .resumed }
            for frame in state.queuedFrames { deliver(frame) }
            host.logger.info("migration \(id): \(hosted.name) resumed here")
            return destination.resumed(now: resumedAt, verifiedAt: verifiedAt)
        }

        private func deliver(_ frame: [UInt8]) {
            guard let hosted else { return }
            for reply in hosted.deliver(frame[...], now: SystemClock.monotonicNanoseconds()) { host.sendFromVM(reply, source: hosted.mac) }
        }

        /// Post-copy: the link failed after the VM resumed here. It pauses (the source can no longer
        /// run it) and the coordinator is told; nothing is discarded.
        private func pause(reason: String) {
            if let hosted {
                let now = SystemClock.monotonicNanoseconds()
                hosted.with { try? $0.pauseForRecovery(now: now) }
            }
            service.update(key) { $0.status = .postcopyPaused; $0.error = reason }
            host.logger.warning("migration \(id): \(reason)")
        }

        /// Post-copy recovered: the VM runs on.
        private func unpause() {
            if let hosted {
                let now = SystemClock.monotonicNanoseconds()
                hosted.with { try? $0.unpause(now: now) }
            }
            service.update(key) { $0.status = .resumed; $0.error = nil }
        }

        /// Post-copy without a source: the pages the VM lacks are gone with it. The VM stops here
        /// and is removed; nothing claims it runs anywhere.
        private func loseVM() {
            let missing = destination.missingPageCount
            if let hosted {
                hosted.with { $0.powerOff() }
                host.remove(vm: hosted.name, ifSameAs: hosted)
            }
            hosted = nil
            let reason = "the source is gone during post-copy with \(missing) pages of \(expectation.vm) never sent: the VM is lost (stopped on \(host.settings.name))"
            service.update(key) { $0.status = .vmLost; $0.error = reason; $0.vmHere = false; $0.vmRunningHere = false }
            host.logger.error("migration \(id): \(reason)")
        }

        /// Nothing of the migration stays: the VM lives on at the source.
        private func discard(reason: String) {
            if let hosted { host.remove(vm: hosted.name, ifSameAs: hosted) }
            hosted = nil
            service.update(key) { $0.status = .discarded; $0.error = reason; $0.vmHere = false; $0.vmRunningHere = false }
            host.logger.warning("migration \(id) discarded: \(reason)")
        }

        /// The VM runs here but the source never heard: keep it running until the coordinator decides.
        private func awaitCoordinator(reason: String) {
            if service.isSettled(key) {
                host.logger.info("migration \(id): connection ended after the coordinator settled it (\(reason))")
                return
            }
            service.update(key) { $0.status = .awaitingCoordinator; $0.error = reason }
            let service = self.service, host = self.host, key = self.key, hosted = self.hosted
            service.awaitDecision(key) { decision in
                switch decision {
                case .keep:
                    service.update(key) { $0.status = .completed }
                    return .success("\(hosted?.name ?? "the VM") stays on \(host.settings.name)")
                case .discard:
                    if let hosted {
                        hosted.with { $0.powerOff() }
                        host.remove(vm: hosted.name, ifSameAs: hosted)
                    }
                    service.update(key) { $0.status = .discarded; $0.vmHere = false; $0.vmRunningHere = false }
                    return .success("the copy on \(host.settings.name) was discarded")
                case .resume, .release:
                    return .failure(ConfigurationError("a destination takes keep or discard, not \(decision.rawValue)"))
                }
            }
            host.logger.warning("migration \(id): waiting for the coordinator: \(reason)")
        }
    }
}
