import Foundation
import L2Guest
import Testing
@testable import L2Migration

/// The switchover over the in-memory pipe with a test clock: its phases, and switchover-ack.
@Suite("Switchover phases and switchover-ack")
struct SwitchoverTests {
    func pipe(pagesPerMillisecond: Double = 2, switchoverAck: Bool = true) throws -> Pipe {
        let vm = try TestVM(pages: 2048, nonZero: 600)
        return Pipe(vm: vm, policy: ConvergencePolicy(downtimeTargetNanoseconds: 5_000_000),
                    workload: Workload(pagesPerMillisecond: pagesPerMillisecond, hotPages: 0..<300),
                    switchoverAck: switchoverAck)
    }

    @Test("the downtime's phases run back to back from the freeze to the resume and add up to the downtime")
    func phasesAddUp() throws {
        var pipe = try pipe()
        pipe.freezeDelay = 3_000
        pipe.stateCaptureDelay = 5_000
        pipe.resumeDelay = 70_000
        let result = try pipe.runToCompletion()
        let timeline = try #require(result.switchover)
        let phases = timeline.phases
        #expect(phases.map(\.name) == ["switchover-ack", "drain", "freeze", "state-capture", "final-pages", "transfer",
                                       "verification", "resume", "acknowledgement"])
        let downtime = phases.filter(\.inDowntime)
        #expect(downtime.map(\.name) == ["freeze", "state-capture", "final-pages", "transfer", "verification", "resume"])
        #expect(abs(downtime.reduce(0) { $0 + $1.milliseconds } - (result.downtime ?? -1)) < 1e-9)
        #expect(phases.first { $0.name == "freeze" }?.milliseconds == 0.003)
        #expect(phases.first { $0.name == "state-capture" }?.milliseconds == 0.005)
        #expect(phases.first { $0.name == "resume" }?.milliseconds == 0.07)
        // The final pages cost link time in the simulation: the destination saw them arrive later.
        #expect(phases.first { $0.name == "transfer" }!.milliseconds > 0)
        #expect(phases.allSatisfy { $0.milliseconds >= 0 })
        #expect(timeline.freezeAt == pipe.stunnedAt)
        #expect(timeline.decidedAt! <= timeline.acknowledgedAt! && timeline.acknowledgedAt! <= timeline.freezeAt!)
        #expect(result.switchoverAck == "test host ready")
        #expect(pipe.readinessChecks == 1)
    }

    @Test("the timeline reads back from JSON with its moments; the phases are recomputed, not trusted")
    func timelineCodable() throws {
        var timeline = SwitchoverTimeline()
        timeline.decidedAt = 100
        timeline.freezeAt = 1_000
        timeline.frozenAt = 1_500
        timeline.stateCapturedAt = 2_000
        timeline.finalPagesAt = 10_000
        timeline.switchoverArrivedAt = 60_000
        timeline.verifiedAt = 61_000
        timeline.resumedAt = 71_000
        let data = try JSONEncoder().encode(timeline)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"phases\"") && text.contains("\"phase\":\"transfer\"") && text.contains("\"downtime\":true"))
        let back = try JSONDecoder().decode(SwitchoverTimeline.self, from: data)
        #expect(back == timeline)
        #expect(back.phases.map(\.name) == ["drain", "freeze", "state-capture", "final-pages", "transfer", "verification", "resume"])
        #expect(back.phases.first { $0.name == "transfer" }?.milliseconds == 0.05)
    }

    @Test("a refused switchover-ack: the VM is never stunned, stays on the source, and the reason is reported")
    func refusedAck() throws {
        var pipe = try pipe()
        pipe.readinessRefusal = "uplink vmnic0 of esx02 has no carrier"
        pipe.run()
        let result = try #require(pipe.result)
        #expect(result.status == .failed)
        #expect(result.error?.contains("was not stunned") == true)
        #expect(result.error?.contains("uplink vmnic0 of esx02 has no carrier") == true)
        #expect(pipe.stunnedAt == nil)
        #expect(!pipe.sourceActions.contains(.stun))
        #expect(pipe.sourceActions.contains { $0.isResumeSource })
        #expect(pipe.destination.phase == .discarded)
        #expect(pipe.destination.memory == nil)
    }

    @Test("no answer to the switchover-ack: the source gives up after its timeout and keeps the VM")
    func silentDestination() throws {
        var pipe = try pipe()
        pipe.ignoreReadiness = true
        pipe.run(stopWhen: { $0.readinessChecks == 1 })
        #expect(pipe.source.phase == .awaitingAck)
        #expect(pipe.source.tick(now: pipe.clock + 1_000_000_000).isEmpty)
        let actions = pipe.source.tick(now: pipe.clock + 6_000_000_000)
        #expect(actions.contains { $0.isResumeSource })
        #expect(!actions.contains(.stun))
        #expect(pipe.source.result(now: pipe.clock).error?.contains("did not confirm") == true)
    }

    @Test("a connection lost while waiting for the switchover-ack leaves the VM on the source")
    func lostDuringAck() throws {
        var pipe = try pipe()
        pipe.ignoreReadiness = true
        pipe.run(stopWhen: { $0.readinessChecks == 1 })
        let actions = pipe.source.connectionLost(now: pipe.clock)
        #expect(actions.contains { $0.isResumeSource } && !actions.contains { $0.isAwait })
        #expect(pipe.destination.connectionLost(now: pipe.clock).contains { $0.discardReason != nil })
    }

    @Test("without switchover-ack the source stuns at the policy's word, and the report has no ack")
    func withoutAck() throws {
        var pipe = try pipe(switchoverAck: false)
        let result = try pipe.runToCompletion()
        #expect(pipe.readinessChecks == 0)
        #expect(result.switchoverAck == nil)
        #expect(result.switchover?.phases.contains { $0.name == "switchover-ack" } == false)
        #expect(pipe.destination.memory.map { memoriesEqual(pipe.vm.memory, $0) } == true)
    }

    @Test("a switchover query in the middle of a round is a protocol failure")
    func queryMidRound() throws {
        var pipe = Pipe(vm: try TestVM(pages: 2048, nonZero: 600), policy: ConvergencePolicy(),
                        workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1), encryption: .disabled)
        pipe.budget = 16 * 1024
        pipe.run(stopWhen: { $0.destination.roundPages > 0 })
        #expect(pipe.destination.roundPages > 0)
        let actions = pipe.destination.receive(bytes: MigrationEncoder.encode(.switchoverQuery), now: pipe.clock)
        #expect(actions.contains { $0.discardReason?.contains("switchover-query") == true })
        #expect(!actions.contains(.confirmSwitchover))
    }
}

@Suite("Switchover-ack and the round after it")
struct AckRoundTests {
    @Test("pages dirtied while the switchover-ack travelled go out in one more round with the VM running, and the next decision stuns without asking again")
    func roundAfterAck() throws {
        let vm = try TestVM(pages: 2048, nonZero: 600)
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(downtimeTargetNanoseconds: 5_000_000),
                        workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<300))
        pipe.ignoreReadiness = true
        pipe.run(stopWhen: { $0.readinessChecks == 1 })
        #expect(pipe.source.phase == .awaitingAck)
        let roundsBefore = pipe.source.currentRound
        // The VM writes 25 pages while the answer is on its way.
        for page in 100..<125 { vm.scribble(page: page) }
        pipe.ignoreReadiness = false
        pipe.handleDestination(pipe.destination.switchoverReadiness(refusal: nil, detail: "ready", now: pipe.clock))
        pipe.pumpToSource()
        #expect(pipe.source.phase == .precopy, "the pages dirtied during the wait are sent before the stun")
        #expect(pipe.stunnedAt == nil)
        let result = try pipe.runToCompletion()
        #expect(pipe.readinessChecks == 1, "the acknowledgement is asked for once")
        let afterAck = result.rounds[roundsBefore]
        #expect(afterAck.pages >= 25)
        // The stop-and-copy round holds only what the VM wrote after that round: nothing here.
        #expect(result.rounds.last!.pages == 0)
        #expect(memoriesEqual(vm.memory, pipe.destination.memory))
        // The switchover started at the first decision: the ack comes after it, the round after the
        // ack counts in the drain, and no phase is negative.
        let timeline = try #require(result.switchover)
        #expect(timeline.decidedAt! < timeline.acknowledgedAt!)
        #expect(timeline.phases.allSatisfy { $0.milliseconds >= 0 }, "\(timeline.phases)")
    }

    @Test("with nothing dirtied while the switchover-ack travelled, the source stuns at once")
    func nothingDirty() throws {
        let vm = try TestVM(pages: 2048, nonZero: 600)
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(downtimeTargetNanoseconds: 5_000_000),
                        workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<300))
        let result = try pipe.runToCompletion()
        #expect(pipe.readinessChecks == 1)
        // Round 1 sent everything, the switchover round nothing: no round between them.
        #expect(result.rounds.count == 2)
    }
}
