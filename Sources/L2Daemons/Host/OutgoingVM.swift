import L2Control
import L2Edge

/// The VM of an outgoing migration on its source host, and what the migration does to it besides
/// copying its memory: resume it here, release it to the destination, or leave it stunned for the
/// coordinator; each keeps the migration's progress record in step. `resume` is the only way the VM
/// runs here again, whether the migration failed or the coordinator decided so afterwards.
struct OutgoingVM: Sendable {
    let host: HostDaemon
    let vm: HostedVM
    let service: MigrationService
    /// The migration's id as text, the key of its progress record.
    let id: String

    /// The migration stopped short of the commit: the VM runs here again, unthrottled, the frames
    /// queued for it since the stun answered. With `announce`, the switch (RARP) and the peers
    /// (gratuitous ARP) hear where it is, in case the destination already announced it.
    func resume(reason: String, announce: Bool = true) {
        let now = SystemClock.monotonicNanoseconds()
        vm.with { machine in
            try? machine.abortMigrationOut(now: now)
            machine.setThrottle(percent: 0)
        }
        for reply in vm.answer(vm.stopHolding(), now: now) { host.sendFromVM(reply, source: vm.mac) }
        service.update(id) { $0.vmRunningHere = true; $0.vmHere = true; $0.throttle = 0 }
        if announce {
            Announcer(host: host, mac: vm.mac, ip: vm.configuration.ip.address, schedule: Announcer.defaultSchedule,
                      garp: true, neighborAdvertisements: vm, migration: id, service: service).start(resumedMonotonic: SystemClock.monotonicNanoseconds())
        }
        host.logger.warning("migration \(id) of \(vm.name) failed; it keeps running here: \(reason)")
    }

    /// The destination runs the VM and the copy is proved: drop ours; frames that still reach this
    /// host for it until `forwardingUntil` (monotonic) go to `forward`.
    func release(forwardingUntil: UInt64, forward: @escaping @Sendable ([UInt8]) -> Void) {
        host.release(vm: vm, forwardingUntil: forwardingUntil, forward: forward)
        service.update(id) { $0.vmHere = false; $0.vmRunningHere = false }
        host.logger.info("migration \(id): \(vm.name) runs on the destination; released here")
    }

    /// Outcome unknown (the link died after the switchover): stay stunned until the coordinator
    /// decides to resume the VM here or release it.
    func awaitCoordinator(reason: String) {
        service.update(id) { $0.vmHere = true; $0.vmRunningHere = false }
        let outgoing = self
        service.awaitDecision(id) { decision in
            switch decision {
            case .resume:
                outgoing.resume(reason: "the coordinator decided it runs here")
                outgoing.service.update(outgoing.id) { $0.status = .failed }
                return .success("\(outgoing.vm.name) resumed on \(outgoing.host.settings.name)")
            case .release:
                outgoing.release(forwardingUntil: 0) { _ in }
                outgoing.service.update(outgoing.id) { $0.status = .completed }
                return .success("\(outgoing.vm.name) released on \(outgoing.host.settings.name)")
            case .keep, .discard:
                return .failure(ConfigurationError("a source takes resume or release, not \(decision.rawValue)"))
            }
        }
        host.logger.warning("migration \(id) of \(vm.name): outcome unknown, VM stays stunned until the coordinator decides: \(reason)")
    }
}
