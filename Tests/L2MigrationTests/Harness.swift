#if canImport(Glibc)
import Glibc
#endif
import L2Guest
import L2Wire
import Testing
@testable import L2Migration

let testID = MigrationID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
let testSecret = MigrationSecret(bytes: (0..<32).map { UInt8($0 &* 7 &+ 1) })!
let otherSecret = MigrationSecret(bytes: (0..<32).map { UInt8($0 &* 7 &+ 2) })!
let testNonce = MigrationNonce(bytes: (0..<16).map { UInt8($0 &+ 0xA0) })!

func makeSpec(pages: Int, portGroup: String = "Production") -> MigrationSpec {
    MigrationSpec(vmName: "web01", mac: MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10), ip: IPv4Address(10, 10, 0, 10),
                  memoryBytes: UInt64(pages * GuestMemory.pageSize), portGroup: portGroup, datastore: "shared01")
}

func destinationSettings(maxMemory: UInt64 = 1 << 30, portGroups: Set<String> = ["Production", "Management"],
                         secret: MigrationSecret = testSecret,
                         encryption: MigrationEncryptionMode = .opportunistic) -> MigrationDestinationSettings {
    MigrationDestinationSettings(migrationID: testID, secret: secret, encryption: encryption, maxMemoryBytes: maxMemory,
                                 portGroups: portGroups, datastores: ["shared01"])
}

/// Guest memory of `pages` pages with `nonZero` pages of seeded random bytes (page 0 always among
/// them), plus a byte-for-byte shadow copy the test keeps in step with every write.
final class TestVM {
    let memory: GuestMemory
    var shadow: [UInt8]
    var rng: SplitMix64

    init(pages: Int, nonZero: Int, seed: UInt64 = 1) throws {
        memory = try GuestMemory(pageCount: pages)
        shadow = [UInt8](repeating: 0, count: pages * GuestMemory.pageSize)
        rng = SplitMix64(seed: seed)
        var chosen = Set<Int>([0])
        while chosen.count < nonZero { chosen.insert(Int.random(in: 0..<pages, using: &rng)) }
        for page in chosen {
            var bytes = [UInt8](repeating: 0, count: GuestMemory.pageSize)
            for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &rng) }
            bytes[0] |= 1
            write(at: page * GuestMemory.pageSize, bytes)
        }
        memory.dirty.clearAll()
    }

    func write(at offset: Int, _ bytes: [UInt8]) {
        memory.write(at: offset, bytes: bytes)
        shadow.replaceSubrange(offset..<offset + bytes.count, with: bytes)
    }

    /// Stores a random non-zero 64-bit word somewhere in `page` (marks it dirty).
    func scribble(page: Int) {
        let offset = page * GuestMemory.pageSize + Int.random(in: 0..<512, using: &rng) * 8
        let value = rng.next() | 1
        memory.storeUInt64(value, at: offset)
        withUnsafeBytes(of: value.littleEndian) { shadow.replaceSubrange(offset..<offset + 8, with: $0) }
    }

    /// The pages holding any non-zero byte, ascending.
    var contentPages: [Int] {
        (0..<memory.pageCount).filter { page in shadow[page * 4096..<(page + 1) * 4096].contains { $0 != 0 } }
    }

    var matchesShadow: Bool {
        shadow.withUnsafeBytes { memcmp($0.baseAddress!, memory.base, shadow.count) == 0 }
    }
}

/// A guest workload that dirties `pagesPerMillisecond` random pages of a hot set while time passes,
/// slowed by the throttle the source asks for, and stopped while stunned.
struct Workload {
    var pagesPerMillisecond: Double
    var hotPages: Range<Int>
    var throttlePercent = 0
    var stunned = false
    var carry = 0.0
    var writes = 0

    mutating func run(for nanoseconds: UInt64, on vm: TestVM) {
        guard !stunned, pagesPerMillisecond > 0 else { return }
        carry += pagesPerMillisecond * Double(100 - throttlePercent) / 100 * Double(nanoseconds) / 1e6
        while carry >= 1 {
            carry -= 1
            vm.scribble(page: Int.random(in: hotPages, using: &vm.rng))
            writes += 1
        }
    }
}

/// Both state machines joined by an in-memory byte pipe and a simulated clock. Bytes cross in chunks
/// of random sizes; producing bytes advances the clock at the link's rate while the workload writes.
struct Pipe {
    var source: MigrationSource
    var destination: MigrationDestination
    let vm: TestVM
    var workload: Workload
    var clock: UInt64
    var rng = SplitMix64(seed: 42)
    var chunkSizes: ClosedRange<Int>
    /// Nanoseconds per byte on the vMotion link.
    var nanosecondsPerByte: Double = 1
    var budget = 64 * 1024
    var resumeDelay: UInt64 = 50_000
    /// Simulated time the freeze and the state capture take inside the stun.
    var freezeDelay: UInt64 = 0
    var stateCaptureDelay: UInt64 = 0
    /// What the destination's driver answers to a switchover-ack (nil: ready).
    var readinessRefusal: String?
    /// How many times the destination was asked to confirm the switchover.
    var readinessChecks = 0
    /// The switchover-ack is not answered at all (a destination that hangs).
    var ignoreReadiness = false

    var toDestination: [UInt8] = []
    var toSource: [UInt8] = []
    var sourceActions: [SourceAction] = []
    var destinationActions: [DestinationAction] = []
    var throttles: [Int] = []
    var result: MigrationResult?
    var resumedState: SwitchoverState?
    var deliveredFrames: [[UInt8]] = []
    var stunnedAt: UInt64?
    var sourceDone = false
    var destinationDone = false
    /// Applied to every byte string before it reaches the destination (fault injection).
    var tamper: ((inout [UInt8]) -> Void)?
    var queuedFrames: [[UInt8]] = [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 0x08, 0x06]]
    /// Keep a copy of every byte put on the wire in each direction (after tampering).
    var captureStreams = false
    var wireToDestination: [UInt8] = []
    var wireToSource: [UInt8] = []
    /// Byte strings the source handed to the wire, in order (sends and produce buffers), when capturing.
    var sourceWrites: [[UInt8]] = []
    /// How many of `sourceWrites` had gone out when the source asked to stun.
    var writesAtStun: Int?
    /// Post-copy: pages the destination's VM touches after it resumes, one per step (faults for the
    /// missing ones), the pages that arrived, and whether the VM was paused.
    var destinationTouches: [Int] = []
    var arrivedPages: [Int] = []
    var pausedReason: String?
    var sourcePaused: String?
    var hotPages: [Int] = []
    /// The source's memory at the stun (what post-copy must reproduce at the destination).
    var shadowAtStun: [UInt8]?

    init(vm: TestVM, policy: ConvergencePolicy, workload: Workload, chunkSizes: ClosedRange<Int> = 1...9000,
         destination: MigrationDestinationSettings = destinationSettings(), start: UInt64 = 1_000_000_000,
         encryption: MigrationEncryptionMode = .opportunistic, secret: MigrationSecret = testSecret,
         populatedPages: (@Sendable () -> [UInt64]?)? = nil, switchoverAck: Bool = true, mode: MigrationMode = .precopy) {
        self.vm = vm
        self.workload = workload
        self.chunkSizes = chunkSizes
        clock = start
        var settings = MigrationSourceSettings(migrationID: testID, secret: secret, encryption: encryption, convergence: policy)
        settings.populatedPages = populatedPages
        settings.switchoverAck = switchoverAck
        settings.mode = mode
        source = MigrationSource(spec: makeSpec(pages: vm.memory.pageCount), memory: vm.memory, settings: settings, now: start)
        var destinationSettings = destination
        if mode != .precopy { destinationSettings.acceptsPostcopy = true }
        self.destination = MigrationDestination(settings: destinationSettings, now: start)
    }

    mutating func advance(_ nanoseconds: UInt64) {
        clock += nanoseconds
        workload.run(for: nanoseconds, on: vm)
    }

    mutating func handleSource(_ actions: [SourceAction]) {
        for action in actions {
            sourceActions.append(action)
            switch action {
            case var .send(bytes):
                tamper?(&bytes)
                toDestination += bytes
                if captureStreams { wireToDestination += bytes; sourceWrites.append(bytes) }
                advance(UInt64(Double(bytes.count) * nanosecondsPerByte))
            case .stun:
                workload.stunned = true
                stunnedAt = clock
                writesAtStun = sourceWrites.count
                let freezeAt = clock
                advance(freezeDelay)
                let frozenAt = clock
                advance(stateCaptureDelay)
                shadowAtStun = vm.shadow
                handleSource(source.stunned(vcpuState: [1, 2, 3], workloadState: [9, 8, 7, 6],
                                            queuedFrames: queuedFrames, stunnedAt: freezeAt, frozenAt: frozenAt,
                                            stateCapturedAt: clock, hotPages: hotPages, now: clock))
            case let .throttle(percent):
                throttles.append(percent)
                workload.throttlePercent = percent
            case .resumeSource:
                workload.stunned = false
            case .releaseSource, .awaitCoordinator:
                sourceDone = true
            case let .postcopyPaused(reason):
                sourcePaused = reason
                sourceDone = true
            case let .completed(result), let .failed(result):
                self.result = result
                sourceDone = true
            }
        }
    }

    mutating func handleDestination(_ actions: [DestinationAction]) {
        for action in actions {
            destinationActions.append(action)
            switch action {
            case let .send(bytes):
                toSource += bytes
                if captureStreams { wireToSource += bytes }
            case let .allocateMemory(spec):
                let memory = try! GuestMemory(bytes: Int(spec.memoryBytes))
                handleDestination(destination.memoryAllocated(memory, now: clock))
            case .confirmSwitchover:
                readinessChecks += 1
                guard !ignoreReadiness else { break }
                handleDestination(destination.switchoverReadiness(refusal: readinessRefusal, detail: "test host ready", now: clock))
            case let .resumeVM(state):
                resumedState = state
                let verifiedAt = clock
                advance(resumeDelay)
                handleDestination(destination.resumed(now: clock, verifiedAt: verifiedAt))
            case let .resumeVMPostcopy(state, _):
                resumedState = state
                let verifiedAt = clock
                advance(resumeDelay)
                handleDestination(destination.resumed(now: clock, verifiedAt: verifiedAt))
            case let .pagesArrived(pages):
                arrivedPages += pages
            case let .pauseVM(reason):
                pausedReason = reason
            case .unpauseVM:
                pausedReason = nil
            case let .deliverFrame(frame):
                deliveredFrames.append(frame)
            case .discard, .awaitCoordinator, .completed:
                destinationDone = true
            }
        }
    }

    /// Hands queued bytes over in random-size chunks (slices that do not start at index 0).
    mutating func pump() {
        pumpToDestination()
        pumpToSource()
    }

    mutating func pumpToDestination() {
        var offset = 0
        while offset < toDestination.count {
            let count = min(Int.random(in: chunkSizes, using: &rng), toDestination.count - offset)
            let chunk = toDestination[offset..<offset + count]
            offset += count
            handleDestination(destination.receive(bytes: chunk, now: clock))
        }
        toDestination.removeAll(keepingCapacity: true)
    }

    mutating func pumpToSource() {
        var offset = 0
        while offset < toSource.count {
            let count = min(Int.random(in: chunkSizes, using: &rng), toSource.count - offset)
            let chunk = toSource[offset..<offset + count]
            offset += count
            handleSource(source.receive(bytes: chunk, now: clock))
        }
        toSource.removeAll(keepingCapacity: true)
    }

    /// Runs the migration to its end and returns its result, recording an issue unless it completed.
    mutating func runToCompletion(sourceLocation: SourceLocation = #_sourceLocation) throws -> MigrationResult {
        run()
        let result = try #require(self.result, sourceLocation: sourceLocation)
        #expect(result.status == .completed, "\(result.error ?? "")", sourceLocation: sourceLocation)
        return result
    }

    /// Runs until the source finishes (or `maxSteps`), like a driver loop would.
    mutating func run(maxSteps: Int = 1_000_000, stopWhen: ((Pipe) -> Bool)? = nil) {
        handleSource(source.start(now: clock))
        var buffer: [UInt8] = []
        var steps = 0
        while !sourceDone && steps < maxSteps {
            steps += 1
            if let stopWhen, stopWhen(self) { return }
            pump()
            if sourceDone { break }
            if source.wantsToProduce {
                buffer.removeAll(keepingCapacity: true)
                let actions = source.produce(into: &buffer, budget: budget, now: clock)
                var bytes = buffer
                tamper?(&bytes)
                toDestination += bytes
                if captureStreams { wireToDestination += bytes; sourceWrites.append(bytes) }
                advance(UInt64(Double(buffer.count) * nanosecondsPerByte))
                handleSource(actions)
            } else {
                advance(10_000)
            }
            if destination.phase == .postcopyActive, !destinationTouches.isEmpty {
                handleDestination(destination.pageFault([destinationTouches.removeFirst()], now: clock))
            }
            handleSource(source.tick(now: clock))
            handleDestination(destination.tick(now: clock))
        }
        pump()
    }
}

/// A residency map (one bit per page, 64 per word) with exactly `pages` set.
func residencyMap(_ pages: [Int], pageCount: Int) -> [UInt64] {
    var map = [UInt64](repeating: 0, count: (pageCount + 63) / 64)
    for page in pages { map[page >> 6] |= 1 << UInt64(page & 63) }
    return map
}
