import Foundation
import L2Control
import L2Edge
import L2Guest
import L2Wire
import Logging
import Synchronization

/// A running emulated hypervisor host: its VMs, its virtual switch and port groups, the uplink
/// (AF_PACKET on `vmnic0`), the vCPU ticker, the migration endpoint on `vmk1`, and its control
/// socket. `run()` blocks until SIGINT/SIGTERM.
public final class HostDaemon: @unchecked Sendable {
    public let settings: HostSettings
    let logger: Logger
    let uplink: PacketSocket
    let stateLock = NSLock()
    var inventory: HostInventory
    var vms: [String: HostedVM] = [:]
    /// MACs of VMs that left by migration, with where to forward their late frames and until when.
    var departed: [MACAddress: DepartedVM] = [:]
    let stopping = Atomic<Bool>(false)
    /// Signalled when a VM arrives (power-on, migration) and at stop: the vCPU thread sleeps on it
    /// while the host runs no VM, instead of ticking a thousand times a second for nothing.
    let vcpuWake: WakeDescriptor
    /// Signalled once at stop (and left readable): the uplink and vMotion listener threads sleep with
    /// no timeout on their descriptor and this.
    let stopEvent: WakeDescriptor
    private var bootCounter: UInt64 = 0
    lazy var migrations = MigrationService(host: self)

    public init(settings: HostSettings, logger: Logger) throws {
        guard (1...1_048_576).contains(settings.memoryLimitMiB) else {
            throw ConfigurationError("host memory limit \(settings.memoryLimitMiB) MiB is out of range; use 1...1048576")
        }
        for (name, path) in settings.datastores {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ConfigurationError("datastore \(name): directory \(path) does not exist; create it or fix --datastore \(name)=DIR")
            }
        }
        self.settings = settings
        self.logger = logger
        do {
            inventory = try HostInventory(hostName: settings.name, memoryLimitMiB: settings.memoryLimitMiB, portGroups: settings.portGroups)
        } catch {
            throw ConfigurationError("host \(settings.name): \(error)")
        }
        uplink = try PacketSocket(interface: settings.uplink, promiscuous: true)
        vcpuWake = try WakeDescriptor.event()
        stopEvent = try WakeDescriptor.event()
    }

    public func run() throws {
        let server = try ControlServer<HostRequest>(path: settings.controlSocket) { [self] request in handle(request) }
        server.start()
        let listeners = try migrations.startListening()
        let uplinkEnd = NamedThread.start("uplink") { [self] in uplinkLoop() }
        let vcpuEnd = NamedThread.start("vcpu") { [self] in vcpuLoop() }
        let vmotion = settings.vmotionNICs.map { "\($0.interface) \($0.address):\(settings.migrationPort)" }.joined(separator: ", ")
        logger.info("host \(settings.name) up: uplink \(settings.uplink), vMotion \(vmotion), control \(settings.controlSocket)")
        let signal = SignalWaiter.waitForTermination()
        logger.info("host \(settings.name) stopping on signal \(signal)")
        stopping.store(true, ordering: .releasing)
        vcpuWake.signal()
        migrations.stop()
        stopEvent.signal()
        server.stop()
        // Every loop wakes on the stop event (or its own wake-up): wait for each to finish rather than
        // for a guessed time. A loop stuck in a system call does not hold the exit up for long.
        for (name, end) in [("uplink", uplinkEnd), ("vcpu", vcpuEnd)] + listeners where !end.wait(seconds: 2) {
            logger.warning("host \(settings.name): the \(name) thread did not stop within 2 s; exiting anyway")
        }
    }

    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    // MARK: the uplink

    /// The nice value of the uplink thread, the VM's network path (its responder answers there). When
    /// the host's CPUs are busy (pre-copy, workloads), it goes first, as vSphere's Network I/O Control
    /// gives VM traffic more shares than vMotion traffic. Needs root; without it the thread stays at 0.
    static let uplinkNice: Int32 = -5

    private func uplinkLoop() {
        NamedThread.setCurrentNice(Self.uplinkNice)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 64)
        defer { buffer.deallocate() }
        while !isStopping {
            guard stopEvent.wait(orReadable: uplink.descriptor.rawValue) else { continue }
            for _ in 0..<256 {
                guard let range = try? uplink.receive(into: buffer), !range.isEmpty else { break }
                receiveFromUplink(Array(UnsafeRawBufferPointer(rebasing: buffer[range])))
            }
        }
    }

    /// One frame from the production network, as it was on the wire (802.1Q tag included): to the
    /// VMs the virtual switch picks, without the tag, or forwarded to a VM's new host during the grace
    /// period after it migrated away.
    func receiveFromUplink(_ frame: [UInt8]) {
        let now = SystemClock.monotonicNanoseconds()
        let (targets, forward) = stateLock.withLock { () -> ([HostedVM], DepartedVM?) in
            let delivery = inventory.virtualSwitch.deliverFromUplink(frame)
            var forward: DepartedVM?
            if frame.count >= 14 {
                let destination = MACAddress(bytes: frame, at: 0)
                if let gone = departed[destination] {
                    if gone.until > now { forward = gone } else { departed[destination] = nil }
                }
            }
            return (delivery.nics.compactMap { mac in vms.values.first { $0.mac == mac } }, forward)
        }
        guard forward != nil || !targets.isEmpty else { return }
        // The VMs, and a departed VM's new host, see the frame as the VM's NIC does: untagged.
        let untagged = VirtualSwitch.vmCopy(ofUplinkFrame: frame[...])
        if let forward { forward.forward(untagged) }
        for vm in targets {
            for reply in vm.deliver(untagged[...], now: now) { sendFromVM(reply, source: vm.mac) }
        }
    }

    /// A frame the VM NIC `source` sent: out of the uplink (tagged with its port group's VLAN) and/or
    /// to other local VMs, as the virtual switch decides; a forged source on a port group that rejects
    /// forged transmits goes nowhere (counted). Returns the delivery.
    @discardableResult
    func sendFromVM(_ frame: [UInt8], source: MACAddress) -> VirtualSwitchDelivery {
        let now = SystemClock.monotonicNanoseconds()
        let (delivery, locals) = stateLock.withLock { () -> (VirtualSwitchDelivery, [HostedVM]) in
            let delivery = inventory.deliverFromVM(frame[...], from: source)
            return (delivery, delivery.nics.compactMap { mac in vms.values.first { $0.mac == mac } })
        }
        if delivery.uplink { _ = try? uplink.send(delivery.uplinkCopy(of: frame[...])) }
        for vm in locals {
            for reply in vm.deliver(frame[...], now: now) where vm.mac != source { sendFromVM(reply, source: vm.mac) }
        }
        return delivery
    }

    // MARK: the vCPUs

    private func vcpuLoop() {
        while !isStopping {
            let now = SystemClock.monotonicNanoseconds()
            let running = stateLock.withLock { Array(vms.values) }
            guard !running.isEmpty else {
                // Level-triggered: a VM that arrived since the check above has already signalled.
                vcpuWake.wait()
                continue
            }
            for vm in running {
                // The guest's TCP timers (retransmissions, window probes) send frames of their own.
                let frames = vm.with { $0.runVCPU(now: now) }
                for frame in frames { sendFromVM(frame, source: vm.mac) }
            }
            SystemClock.sleep(nanoseconds: 1_000_000)
        }
    }

    // MARK: power

    func datastore(named name: String) throws -> Datastore {
        guard let path = settings.datastores[name] else {
            let mounted = settings.datastores.keys.sorted()
            throw ControlError(.notFound, "datastore \(name) is not mounted on \(settings.name) (it mounts: \(mounted.isEmpty ? "none" : mounted.joined(separator: ", ")))")
        }
        return Datastore(name: name, path: path)
    }

    func nextBootID() -> UInt64 {
        stateLock.withLock {
            bootCounter += 1
            return (UInt64(getpid()) << 32) | bootCounter
        }
    }

    /// Reads the VM's configuration from the datastore, admits it and boots it; all or nothing.
    /// `dirtyRate` replaces the workload's rate for this power-on (the file on the datastore is left as it is).
    func powerOn(vm name: String, datastore datastoreName: String, dirtyRate: DirtyRate? = nil) throws -> VMSummary {
        let store = try datastore(named: datastoreName)
        var configuration = try store.loadConfiguration(of: name)
        if let dirtyRate { configuration.workload = dirtyRate.applied(to: configuration.workload) }
        let machine: VirtualMachine
        try stateLock.withLock {
            do { try inventory.check(configuration) } catch { throw ControlError(.refused, "\(error)") }
        }
        do { machine = try VirtualMachine(configuration: configuration) } catch { throw ConfigurationError("\(error)") }
        machine.hostName = settings.name
        let hosted = HostedVM(vm: machine, datastore: datastoreName)
        try stateLock.withLock {
            do { try inventory.register(configuration) } catch { throw ControlError(.refused, "\(error)") }
            vms[name] = hosted
        }
        vcpuWake.signal()
        let frames: [[UInt8]]
        do {
            let bootID = nextBootID()
            frames = try hosted.with { try $0.powerOn(now: SystemClock.monotonicNanoseconds(), bootID: bootID) }
        } catch {
            remove(vm: name)
            throw ConfigurationError("\(error)")
        }
        for frame in frames { sendFromVM(frame, source: hosted.mac) }
        logger.info("powered on \(name) (\(configuration.mac), \(configuration.ip)) from datastore \(datastoreName), workload \(configuration.workload.rateSummary)")
        return summary(of: hosted)
    }

    func powerOff(vm name: String) throws {
        guard let hosted = stateLock.withLock({ vms[name] }) else { throw vmNotFound(name) }
        hosted.with { $0.powerOff() }
        remove(vm: name)
        logger.info("powered off \(name)")
    }

    /// Unregisters a VM and frees its memory (when the last reference goes).
    func remove(vm name: String) {
        stateLock.withLock {
            vms[name] = nil
            try? inventory.unregister(vm: name)
        }
    }

    func vmNotFound(_ name: String) -> ControlError {
        let names = stateLock.withLock { vms.keys.sorted() }
        return ControlError(.notFound, "no VM \(name) on \(settings.name) (it runs: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
    }

    func hostedVM(_ name: String) throws -> HostedVM {
        guard let hosted = stateLock.withLock({ vms[name] }) else { throw vmNotFound(name) }
        return hosted
    }

    func summary(of hosted: HostedVM, scanMemory: Bool = true) -> VMSummary {
        let configuration = hosted.configuration
        // The running workload's spec, not the configuration's: a VM that arrived by migration runs the
        // source's workload (its `--dirty-rate` included), while its configuration is the datastore's.
        let (figures, workload) = hosted.with { ($0.statisticsWithoutScan(), $0.workload.spec) }
        var statistics = figures
        // The scan of guest memory runs outside the VM's lock, so the VM keeps answering meanwhile.
        if scanMemory {
            let memory = hosted.memory
            let backed = PageResidency.populated(base: UnsafeRawPointer(memory.base), pageCount: memory.pageCount)
            statistics.pagesTouched = memory.nonZeroPageCount(backed: backed)
        }
        statistics.framesDroppedWhileStunned = hosted.framesDroppedWhileStunned
        statistics.forgedTransmitsDropped = stateLock.withLock { inventory.virtualSwitch.port(for: configuration.mac)?.forgedTransmitDrops ?? 0 }
        return VMSummary(name: configuration.name, mac: configuration.mac, ip: configuration.ip, memoryMiB: configuration.memoryMiB,
                         portGroup: configuration.portGroup, datastore: hosted.datastore, workload: workload, statistics: statistics,
                         ipv6: configuration.ipv6Interfaces,
                         services: hosted.with(\.serviceNames))
    }

    func info() -> HostInfo {
        let groups = portGroups()
        var info = stateLock.withLock {
            HostInfo(name: settings.name, pid: getpid(), uplink: settings.uplink, vmkernel: settings.vmkernel,
                     vmkernelAddress: settings.vmkernelAddress.description, migrationPort: settings.migrationPort,
                     memoryLimitMiB: settings.memoryLimitMiB, memoryFreeMiB: inventory.freeMemoryMiB,
                     portGroups: groups, datastores: settings.datastores, vms: vms.keys.sorted())
        }
        info.vmotionNICs = settings.vmotionNICs
        info.forgedTransmitDrops = stateLock.withLock { inventory.virtualSwitch.forgedTransmitDrops }
        info.vmIPv6 = stateLock.withLock { vms.mapValues(\.configuration.ipv6Interfaces) }
        info.vmServices = stateLock.withLock { vms.mapValues { $0.with(\.serviceNames) } }
        return info
    }
}

/// A VM that migrated away: frames still arriving for it are forwarded to its new host until `until`.
struct DepartedVM: Sendable {
    let until: UInt64
    let forward: @Sendable ([UInt8]) -> Void
}

extension HostDaemon {
    /// Registers a VM arriving by migration (memory reserved, NIC attached); all or nothing.
    func admit(_ hosted: HostedVM) throws {
        try stateLock.withLock {
            do { try inventory.register(hosted.configuration) } catch { throw ConfigurationError("\(error)") }
            vms[hosted.name] = hosted
            departed[hosted.mac] = nil
        }
        vcpuWake.signal()
    }

    /// Drops a VM that now runs elsewhere; frames for its MAC go to `forward` until `until` (monotonic).
    func release(vm hosted: HostedVM, forwardingUntil until: UInt64, forward: @escaping @Sendable ([UInt8]) -> Void) {
        stateLock.withLock {
            if vms[hosted.name] === hosted {
                vms[hosted.name] = nil
                try? inventory.unregister(vm: hosted.name)
            }
            if until > 0 { departed[hosted.mac] = DepartedVM(until: until, forward: forward) }
        }
        hosted.with { try? $0.completeMigrationOut() }
    }

    /// Removes a VM only if the registered one is still `hosted` (a newer copy is left alone).
    func remove(vm name: String, ifSameAs hosted: HostedVM) {
        stateLock.withLock {
            guard vms[name] === hosted else { return }
            vms[name] = nil
            try? inventory.unregister(vm: name)
        }
    }
}
