import Testing
import L2Wire
@testable import L2Guest

private let ms: UInt64 = 1_000_000
private let second: UInt64 = 1_000_000_000

@Suite struct VirtualMachineTests {
    func configuration() throws -> VMConfiguration {
        var config = try VMConfiguration.parse(json: web01JSON)
        config.memoryMiB = 32
        config.touchedMiB = 4
        return config
    }

    @Test func powerOnFillsMemoryAndAnnounces() throws {
        let vm = try VirtualMachine(configuration: configuration())
        #expect(vm.state == .poweredOff)
        let frames = try vm.powerOn(now: 10 * second, bootID: 0xB007)
        #expect(frames == [Announce.gratuitousARPFrame(mac: web01MAC, ip: web01IP)])
        #expect(vm.state == .running)
        #expect(vm.memory.loadUInt64(at: 8) == 0xB007)
        let stats = vm.statistics()
        #expect(stats.pagesTouched == 1 + 1024) // boot record + 4 MiB fill
        #expect(stats.pageCount == 32 * 256)
        #expect(throws: VMStateError(vm: "web01", action: "power on", state: .running)) {
            _ = try vm.powerOn(now: 0, bootID: 1)
        }
    }

    @Test func answersOnlyWhileRunningAndMeasuresDirtyRate() throws {
        let vm = try VirtualMachine(configuration: configuration())
        #expect(vm.handle(frame: arpRequest, now: 0).isEmpty)
        _ = try vm.powerOn(now: 0, bootID: 1)
        #expect(vm.handle(frame: arpRequest, now: ms) == [arpReply])
        for step: UInt64 in 1...200 { vm.tick(now: step * 10 * ms) }
        #expect(abs(vm.dirtyRate - 2_000) < 1)
        vm.setThrottle(percent: 75)
        for step: UInt64 in 201...400 { vm.tick(now: step * 10 * ms) }
        #expect(abs(vm.dirtyRate - 500) < 1)
        #expect(vm.statistics().throttlePercent == 75)

        try vm.beginMigrationOut()
        #expect(vm.handle(frame: udpRequest, now: 4 * second + ms) == [udpReply1]) // pre-copy: still answers
        try vm.stun(now: 4 * second + 2 * ms)
        let writes = vm.workload.writes
        #expect(vm.handle(frame: udpRequest, now: 5 * second).isEmpty)
        #expect(vm.tick(now: 6 * second) == 0 && vm.workload.writes == writes)
        #expect(vm.statistics().framesWhileNotRunning == 2)
        try vm.abortMigrationOut(now: 6 * second)
        #expect(vm.tick(now: 6 * second + 100 * ms) == 50) // throttled 500/s, stunned time not owed
        #expect(vm.handle(frame: udpRequest, now: 7 * second) == [udpReply2])
    }

    /// The whole migration at the VM level: pages and vCPU state copied to a destination VM, which
    /// resumes with the same memory, the same counter and the same workload sequence.
    @Test func migratedCopyContinuesExactly() throws {
        let config = try configuration()
        let source = try VirtualMachine(configuration: config)
        _ = try source.powerOn(now: 0, bootID: 77)
        _ = source.handle(frame: udpRequest, now: 100 * ms)
        for step: UInt64 in 1...50 { source.tick(now: step * 20 * ms) }

        let destination = try VirtualMachine(incoming: config)
        #expect(destination.state == .migratingIn)
        #expect(destination.handle(frame: udpRequest, now: 0).isEmpty)
        try source.beginMigrationOut()
        source.memory.dirty.markAll()
        func copyDirty(to target: VirtualMachine? = nil) {
            for page in source.memory.dirty.takeAll() {
                source.memory.withPage(page) { (target ?? destination).memory.storePage(page, from: $0) }
            }
        }
        copyDirty()                       // round 1
        source.tick(now: 1_500 * ms)      // the guest keeps dirtying
        copyDirty()                       // round 2
        try source.stun(now: 1_600 * ms)
        copyDirty()                       // final pages
        let blob = source.vcpuState.encoded()
        #expect(source.memory.digest() == destination.memory.digest())

        try destination.restore(vcpuState: VCPUState(bytes: blob))
        try destination.resume(now: 50 * second) // another host's clock
        try source.completeMigrationOut()
        #expect(source.state == .poweredOff && destination.state == .running)
        #expect(destination.vcpuState.migrationCount == 1 && destination.bootID == 77)

        // The UDP counter continues from guest memory: the second request gets 2.
        #expect(destination.handle(frame: udpRequest, now: 50 * second) == [udpReply2])
        // The workload continues the same sequence as the source would have.
        let twin = try VirtualMachine(incoming: config)
        source.memory.dirty.markAll()
        copyDirty(to: twin)
        try twin.restore(vcpuState: VCPUState(bytes: blob))
        try twin.resume(now: 9 * second)
        _ = twin.handle(frame: udpRequest, now: 9 * second)
        destination.tick(now: 50 * second + 700 * ms)
        twin.tick(now: 9 * second + 700 * ms)
        #expect(destination.workload.writes == twin.workload.writes)
        #expect(destination.memory.digest() == twin.memory.digest())
    }

    @Test func invalidConfigurationIsRefused() throws {
        var config = try configuration()
        config.memoryMiB = 0
        #expect(throws: VMCreationError.invalidConfiguration(VMConfigurationError([.init(field: "memoryMiB", message: "must be positive, not 0")]))) {
            _ = try VirtualMachine(configuration: config)
        }
    }
}
