#if canImport(Glibc)
import Glibc
#endif
import L2Control
@testable import L2Daemons
@testable import L2Edge
import L2Guest
import L2Migration
import L2Wire
import Testing

/// What the fault hooks were told, in order.
private final class HookRecord {
    var logs: [String] = []
    var phases: [String] = []
    var sleeps: [UInt64] = []

    var hooks: FaultHooks {
        FaultHooks(log: { self.logs.append($0) }, reportPhase: { self.phases.append($0) }, sleep: { self.sleeps.append($0) })
    }
}

/// A `StreamPump` over one end of a Unix socketpair (non-blocking, as the vMotion connection is); the
/// test reads the other end. No root needed.
private final class SocketPair {
    let pump: StreamPump
    let peer: Int32

    init() {
        var fds: [Int32] = [0, 0]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        pump = StreamPump(connection: TCPSocket(taking: fds[0]))
        peer = fds[1]
    }

    /// Everything the peer can read now, and whether it saw the end of the stream.
    func readPeer() -> (bytes: [UInt8], closed: Bool) {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count: Int?
            do {
                count = try buffer.withUnsafeMutableBytes { try OwnedDescriptor.read(peer, into: $0) }
            } catch {
                return (bytes, true)
            }
            guard let count else { return (bytes, false) }
            if count == 0 { return (bytes, true) }
            bytes += buffer[0..<count]
        }
    }

    deinit { close(peer) }
}

private let testID = MigrationID(high: 0x1234, low: 0x5678)
private let testSecret = MigrationSecret(bytes: [UInt8](repeating: 0x5A, count: 32))!

/// A migration source for `pages` pages whose contents are all non-zero, and its destination, with
/// the handshake already done in memory (unencrypted, so bytes on the socket can be compared with
/// what the source produced).
private func sourceInPrecopy(pages: Int, policy: ConvergencePolicy = ConvergencePolicy()) throws -> (MigrationSource, GuestMemory) {
    let memory = try GuestMemory(pageCount: pages)
    for page in 0..<pages { memory.storeUInt64(UInt64(page) << 8 | 1, at: page * GuestMemory.pageSize) }
    let spec = MigrationSpec(vmName: "web01", mac: MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10), ip: IPv4Address(10, 10, 0, 10),
                             memoryBytes: UInt64(memory.byteCount), portGroup: "Production", datastore: "shared01")
    var settings = MigrationSourceSettings(migrationID: testID, secret: testSecret, encryption: .disabled, convergence: policy)
    // No destination answers on this socket pair: the policy's word is the stun (no switchover-ack).
    settings.switchoverAck = false
    var source = MigrationSource(spec: spec, memory: memory, settings: settings, now: 1_000_000_000)
    var destination = MigrationDestination(settings: MigrationDestinationSettings(
        migrationID: testID, secret: testSecret, encryption: .disabled, maxMemoryBytes: 1 << 30, portGroups: ["Production"]),
        now: 1_000_000_000)
    var toDestination: [UInt8] = []
    for case let .send(bytes) in source.start(now: 1_000_000_000) { toDestination += bytes }
    var replies: [DestinationAction] = destination.receive(bytes: toDestination, now: 1_000_000_000)
    while !replies.isEmpty {
        switch replies.removeFirst() {
        case .allocateMemory: replies += destination.memoryAllocated(try GuestMemory(pageCount: pages), now: 1_000_000_000)
        case let .send(bytes): _ = source.receive(bytes: bytes, now: 1_000_000_000)
        default: break
        }
    }
    precondition(source.phase == .precopy)
    return (source, memory)
}

/// The source's state each time the driver showed it to the pump, and whether the fault fired then.
private struct Observation {
    var moment: SourceMoment
    var round: Int
    var phase: SourcePhase
    var transferred: Int
    /// Every byte the source produced so far had reached the peer.
    var allWritten: Bool
    var fired: Bool
}

/// Runs a source the way `SourceLoop` does (observe, produce, write, stun when asked), over a
/// fault-injecting pump on a socketpair, until the switchover message is out and read, or the
/// connection closed. The time advances 1 ms per turn; `dirtyDuringRound1` pages are written during
/// round 1 (so that a round 2 follows).
private struct FaultRun {
    var pump: FaultInjectingPump<StreamPump>
    var source: MigrationSource
    let memory: GuestMemory
    var produced: [UInt8] = []
    var received: [UInt8] = []
    var observations: [Observation] = []
    var clock: UInt64 = 1_000_000_000
    var peerClosed = false

    init(plan: FaultPlan, hooks: FaultHooks, pages: Int, pair: SocketPair) throws {
        // A target of 1 ns: any dirty page buys another round, none switches over.
        let made = try sourceInPrecopy(pages: pages, policy: ConvergencePolicy(downtimeTargetNanoseconds: 1))
        source = made.0
        memory = made.1
        pump = FaultInjectingPump(wrapping: pair.pump, plan: plan, hooks: hooks)
    }

    private mutating func observe(_ moment: SourceMoment, pair: SocketPair) -> [PumpEvent] {
        drainPeer(pair)
        var observation = Observation(moment: moment, round: source.currentRound, phase: source.phase,
                                      transferred: source.transferredBytes, allWritten: received.count == produced.count,
                                      fired: false)
        let events = pump.observe(source, at: moment)
        observation.fired = pump.plan == nil && !observations.contains { $0.fired }
        observations.append(observation)
        return events
    }

    private mutating func drainPeer(_ pair: SocketPair) {
        let (bytes, closed) = pair.readPeer()
        received += bytes
        peerClosed = peerClosed || closed
    }

    mutating func run(pair: SocketPair, dirtyDuringRound1: Int = 16) -> [PumpEvent] {
        var dirtied = false
        var pending: [SourceAction] = []
        for _ in 0..<100_000 {
            // As in `SourceLoop`: first the actions of the last turn, the stun among them...
            for action in pending where action == .stun {
                let switchover = source.stunned(vcpuState: [1], workloadState: [2], queuedFrames: [], now: clock)
                let events = observe(.stunned, pair: pair)
                if !events.isEmpty { return events }
                for case let .send(bytes) in switchover {
                    pump.enqueue(bytes)
                    produced += bytes
                }
            }
            pending = []
            // ...then the turn's observation, producing, and writing.
            let events = observe(.turn, pair: pair)
            if !events.isEmpty { return events }
            if source.phase == .switchover && received.count == produced.count { return [] }
            if source.wantsToProduce {
                pump.refill { buffer in
                    pending = source.produce(into: &buffer, budget: 256 * 1024, now: clock)
                    produced += buffer
                }
            }
            if !dirtied && source.currentRound == 1 && source.transferredBytes > 2 << 20 {
                for page in 0..<dirtyDuringRound1 { memory.storeUInt64(0xDEAD_BEEF, at: page * GuestMemory.pageSize + 8) }
                dirtied = true
            }
            if let closed = pump.turn(timeoutMilliseconds: 0, received: { _ in }) { return [.closed(closed)] }
            drainPeer(pair)
            clock += 1_000_000
        }
        Issue.record("the source never reached the end of the switchover")
        return []
    }
}

@Suite("Fault injection wraps the stream pump (socketpair, no root)")
struct FaultInjectingPumpTests {
    /// Records which pump the setup handed over.
    private struct WhichPump: PumpUser {
        mutating func use<Pump: MigrationPump>(_ pump: inout Pump) -> ObjectIdentifier { ObjectIdentifier(Pump.self) }
    }

    @Test("without a fault plan the loop runs over the plain StreamPump; with one, over a FaultInjectingPump around it")
    func setupPicksThePump() {
        let pair = SocketPair()
        var user = WhichPump()
        var hooksBuilt = 0
        let record = HookRecord()
        func hooks() -> FaultHooks { hooksBuilt += 1; return record.hooks }
        #expect(PumpSetup.run(over: pair.pump, fault: nil, hooks: hooks(), &user) == ObjectIdentifier(StreamPump.self))
        #expect(hooksBuilt == 0)
        #expect(PumpSetup.run(over: pair.pump, fault: FaultPlan(point: .round2, action: .hold), hooks: hooks(), &user)
            == ObjectIdentifier(FaultInjectingPump<StreamPump>.self))
        #expect(hooksBuilt == 1)
    }

    @Test("a hold fires once, at the first moment its point is reached, reports held:<point> and waits holdMs",
          arguments: FaultPlan.Point.allCases)
    func holdFiresAtItsPoint(point: FaultPlan.Point) throws {
        let pair = SocketPair()
        let record = HookRecord()
        var run = try FaultRun(plan: FaultPlan(point: point, action: .hold, holdMs: 1234), hooks: record.hooks,
                               pages: 3 * 1024, pair: pair)
        #expect(run.run(pair: pair).isEmpty)
        // A hold damages nothing: every byte produced reached the peer as it was.
        #expect(run.received == run.produced)
        #expect(record.phases == ["held:\(point.rawValue)"])
        #expect(record.sleeps == [1_234_000_000])
        #expect(record.logs == ["fault injection: hold at \(point.rawValue)"])
        let fired = try #require(run.observations.firstIndex { $0.fired })
        #expect(run.observations.filter(\.fired).count == 1)
        let at = run.observations[fired]
        let earlier = run.observations[..<fired]
        switch point {
        case .round1:
            // The first turn of round 1 past 8 MiB on the wire.
            #expect(at.moment == .turn && at.round == 1 && at.transferred > 8 << 20)
            #expect(earlier.allSatisfy { $0.transferred <= 8 << 20 })
        case .round2:
            #expect(at.moment == .turn && at.round == 2 && at.phase == .precopy)
            #expect(earlier.allSatisfy { $0.round == 1 })
        case .stunned:
            // Right after the stun, before anything of the final round was queued.
            #expect(at.moment == .stunned && [.stunning, .switchover].contains(at.phase))
            #expect(earlier.allSatisfy { $0.moment == .turn && $0.phase == .precopy })
        case .switchover:
            // The first turn at which the switchover message has been written out whole.
            #expect(at.moment == .turn && at.phase == .switchover && at.allWritten)
            #expect(earlier.allSatisfy { !($0.moment == .turn && $0.phase == .switchover && $0.allWritten) })
            #expect(earlier.contains { $0.moment == .turn && $0.phase == .switchover && !$0.allWritten })
        }
    }

    @Test("corrupt flips the middle byte of what is queued, and nothing else")
    func corruptFlipsOneQueuedByte() throws {
        let pair = SocketPair()
        let record = HookRecord()
        let (source, _) = try sourceInPrecopy(pages: 4)
        var pump = FaultInjectingPump(wrapping: pair.pump, plan: FaultPlan(point: .stunned, action: .corrupt), hooks: record.hooks)
        let queued = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7 + 1) }
        pump.enqueue(queued)
        #expect(pump.observe(source, at: .turn).isEmpty)
        #expect(pump.plan != nil)
        #expect(pump.observe(source, at: .stunned).isEmpty)
        #expect(pump.plan == nil)
        pump.flushAndClose(milliseconds: 1000)
        let (received, closed) = pair.readPeer()
        #expect(closed)
        #expect(received.count == queued.count)
        let differing = queued.indices.filter { received[$0] != queued[$0] }
        #expect(differing == [500])
        #expect(received[500] == queued[500] ^ 0xFF)
        #expect(record.phases.isEmpty && record.sleeps.isEmpty)
    }

    @Test("corrupt with nothing queued puts one stray byte before what is sent next")
    func corruptWithNothingQueued() throws {
        let pair = SocketPair()
        let (source, _) = try sourceInPrecopy(pages: 4)
        var pump = FaultInjectingPump(wrapping: pair.pump, plan: FaultPlan(point: .stunned, action: .corrupt), hooks: HookRecord().hooks)
        #expect(pump.observe(source, at: .stunned).isEmpty)
        pump.enqueue([1, 2, 3])
        pump.flushAndClose(milliseconds: 1000)
        #expect(pair.readPeer().bytes == [0xA5, 1, 2, 3])
    }

    @Test("truncate sends half of what is queued, closes, and reports the connection closed; it fires once")
    func truncateSendsHalfAndCloses() throws {
        let pair = SocketPair()
        let (source, _) = try sourceInPrecopy(pages: 4)
        var pump = FaultInjectingPump(wrapping: pair.pump, plan: FaultPlan(point: .stunned, action: .truncate), hooks: HookRecord().hooks)
        let queued = [UInt8](repeating: 0x42, count: 1000)
        pump.enqueue(queued)
        let events = pump.observe(source, at: .stunned)
        #expect(events.count == 1)
        guard case .closed = events.first else { Issue.record("expected the connection closed, got \(events)"); return }
        #expect(pump.closed)
        let (received, closed) = pair.readPeer()
        #expect(received == [UInt8](repeating: 0x42, count: 500))
        #expect(closed)
        #expect(pump.observe(source, at: .stunned).isEmpty)
    }

    @Test("a truncate at round 1 ends the stream mid-round: the state machine hears the connection lost and resumes the VM")
    func truncateInRound1ResumesTheSource() throws {
        let pair = SocketPair()
        var run = try FaultRun(plan: FaultPlan(point: .round1, action: .truncate), hooks: HookRecord().hooks,
                               pages: 3 * 1024, pair: pair)
        let events = run.run(pair: pair)
        guard case .closed = events.first else { Issue.record("expected the connection closed, got \(events)"); return }
        let (rest, closed) = pair.readPeer()
        let received = run.received + rest
        #expect(closed || run.peerClosed)
        // What went out is a strict prefix of what the source produced.
        #expect(received.count > 8 << 20 && received.count < run.produced.count)
        #expect(received == Array(run.produced[..<received.count]))
        let actions = run.source.connectionLost(now: run.clock)
        #expect(actions.contains { if case .resumeSource = $0 { true } else { false } })
    }
}
