import L2Guest
import L2Wire
import Testing
@testable import L2Migration

/// Both state machines joined by N in-memory lanes (one byte queue per lane towards the destination,
/// lane 0 back) and a simulated clock. Each step, every lane whose output drained takes a chunk
/// (lane 0 last, told whether the others are idle); then the lanes deliver in random interleaving and
/// chunk sizes, except those `holds` keeps back, so pages of one lane arrive after another lane's
/// marker. New lanes begin with the source's lane hello, which the "driver" here peeks and admits.
struct LanePipe {
    var source: MigrationSource
    var destination: MigrationDestination
    let vm: TestVM
    var workload: Workload
    var clock: UInt64
    var rng = SplitMix64(seed: 99)
    var budget = 48 * 1024
    var chunkSizes: ClosedRange<Int> = 1...20_000
    var nanosecondsPerByte: Double = 1
    var resumeDelay: UInt64 = 50_000

    /// Bytes in flight towards the destination, per lane (written to the lane's "kernel").
    var wire: [[UInt8]]
    /// A lane takes a chunk while fewer bytes than this are in flight on it (its socket buffer).
    var sendWindow = 128 * 1024
    var toSource: [UInt8] = []
    /// Lanes whose hello the destination admitted (lane 0 always).
    var admitted: Set<Int> = [0]
    /// Lanes whose first bytes are still being peeked for the lane hello.
    var peeking: [Int: MigrationDecoder] = [:]
    /// Lanes the destination refused (their bytes are dropped), with the reason.
    var refusals: [Int: String] = [:]
    /// Keeps a lane's bytes back while true (the lane is slow).
    var holds: ((LanePipe, Int) -> Bool)?

    var sourceActions: [SourceAction] = []
    var destinationActions: [DestinationAction] = []
    var result: MigrationResult?
    var resumedState: SwitchoverState?
    var sourceDone = false

    init(vm: TestVM, lanes: Int, policy: ConvergencePolicy = ConvergencePolicy(), workload: Workload,
         encryption: MigrationEncryptionMode = .opportunistic, start: UInt64 = 1_000_000_000,
         destinationLanes: Int? = nil, switchoverAck: Bool = true) {
        self.vm = vm
        self.workload = workload
        clock = start
        var settings = MigrationSourceSettings(migrationID: testID, secret: testSecret, encryption: encryption, convergence: policy)
        settings.lanes = lanes
        settings.switchoverAck = switchoverAck
        settings.laneInterfaces = ["vmk1", "vmk2"]
        source = MigrationSource(spec: makeSpec(pages: vm.memory.pageCount), memory: vm.memory, settings: settings, now: start)
        var receiving = destinationSettings(encryption: encryption)
        receiving.lanes = destinationLanes ?? lanes
        destination = MigrationDestination(settings: receiving, now: start)
        wire = [[UInt8]](repeating: [], count: lanes)
    }

    mutating func advance(_ nanoseconds: UInt64) {
        clock += nanoseconds
        workload.run(for: nanoseconds, on: vm)
    }

    mutating func handleSource(_ actions: [SourceAction]) {
        for action in actions {
            sourceActions.append(action)
            switch action {
            case let .send(bytes):
                wire[0] += bytes
                advance(UInt64(Double(bytes.count) * nanosecondsPerByte))
            case .stun:
                workload.stunned = true
                handleSource(source.stunned(vcpuState: [1, 2, 3], workloadState: [9, 8, 7, 6], queuedFrames: [], now: clock))
            case let .throttle(percent):
                workload.throttlePercent = percent
            case .resumeSource:
                workload.stunned = false
            case .releaseSource, .awaitCoordinator, .postcopyPaused:
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
            case let .allocateMemory(spec):
                let memory = try! GuestMemory(bytes: Int(spec.memoryBytes))
                handleDestination(destination.memoryAllocated(memory, now: clock))
            case .confirmSwitchover:
                handleDestination(destination.switchoverReadiness(refusal: nil, detail: "lanes ready", now: clock))
            case let .resumeVM(state):
                resumedState = state
                advance(resumeDelay)
                handleDestination(destination.resumed(now: clock))
            case .deliverFrame, .discard, .awaitCoordinator, .completed, .resumeVMPostcopy, .pagesArrived, .pauseVM, .unpauseVM:
                break
            }
        }
    }

    /// The source opens every lane it may, and every lane with room in its socket buffer takes a
    /// chunk (what it takes goes straight on the wire). Now and then a lane 0 call is told the others
    /// are still busy, as a driver would while another lane's output is still queued.
    mutating func produce() {
        for lane in source.lanesToOpen {
            wire[lane] += source.openLane(lane)
            peeking[lane] = MigrationDecoder()
        }
        for lane in (1..<wire.count).shuffled(using: &rng) + [0]
        where wire[lane].count < sendWindow && source.wantsToProduce(lane: lane) {
            let othersIdle = wire.count == 1 || rng.next() % 4 != 0
            var buffer: [UInt8] = []
            let actions = source.produce(lane: lane, into: &buffer, budget: budget, othersIdle: othersIdle, now: clock)
            wire[lane] += buffer
            advance(UInt64(Double(buffer.count) * nanosecondsPerByte))
            handleSource(actions)
        }
    }

    /// Delivers what the lanes carry (held lanes keep theirs), in random chunks from random lanes.
    mutating func deliver() {
        while true {
            let ready = wire.indices.filter { !wire[$0].isEmpty && !(holds?(self, $0) ?? false) }
            guard let lane = ready.randomElement(using: &rng) else { break }
            let count = min(Int.random(in: chunkSizes, using: &rng), wire[lane].count)
            let chunk = Array(wire[lane][..<count])
            wire[lane].removeFirst(count)
            deliver(chunk, lane: lane)
        }
        let back = toSource
        toSource.removeAll()
        if !back.isEmpty { handleSource(source.receive(bytes: back, now: clock)) }
    }

    mutating func deliver(_ chunk: [UInt8], lane: Int) {
        if refusals[lane] != nil { return }
        if admitted.contains(lane) {
            handleDestination(destination.receive(bytes: chunk, lane: lane, now: clock))
            return
        }
        var decoder = peeking[lane] ?? MigrationDecoder()
        decoder.append(chunk)
        guard let message = try? decoder.next() else {
            peeking[lane] = decoder
            return
        }
        guard case let .laneHello(hello) = message else {
            refusals[lane] = "not a lane hello: \(message.type)"
            return
        }
        switch destination.admitLane(hello, now: clock) {
        case .admitted:
            admitted.insert(lane)
            peeking[lane] = nil
            handleDestination(destination.receive(bytes: decoder.takeUnread(), lane: lane, now: clock))
        case let .refused(reason):
            refusals[lane] = reason
        }
    }

    /// Runs until the source finishes (or `maxSteps`, or `stopWhen` holds before a step).
    mutating func run(maxSteps: Int = 200_000, stopWhen: ((LanePipe) -> Bool)? = nil) {
        if source.phase == .idle { handleSource(source.start(now: clock)) }
        var steps = 0
        while !sourceDone && steps < maxSteps {
            steps += 1
            if let stopWhen, stopWhen(self) { return }
            deliver()
            if sourceDone { break }
            if source.wantsToProduce { produce() } else { advance(10_000) }
            handleSource(source.tick(now: clock))
            handleDestination(destination.tick(now: clock))
        }
        deliver()
    }

    mutating func runToCompletion(sourceLocation: SourceLocation = #_sourceLocation) throws -> MigrationResult {
        run()
        let result = try #require(self.result, sourceLocation: sourceLocation)
        #expect(result.status == .completed, "\(result.error ?? "")", sourceLocation: sourceLocation)
        return result
    }
}
