import Testing
@testable import L2Migration

@Suite("Convergence policy")
struct ConvergenceTests {
    func observation(round: Int = 1, sent: Int = 1000, bytes: Int = 4_000_000, duration: UInt64 = 4_000_000,
                     dirty: Int, elapsed: UInt64 = 10_000_000) -> RoundObservation {
        RoundObservation(round: round, pagesSent: sent, bytesSent: bytes, durationNanoseconds: duration,
                         dirtyPages: dirty, pageSize: 4096, elapsedNanoseconds: elapsed)
    }

    @Test("switch over when the dirty bytes fit the target at the measured bandwidth")
    func switchover() {
        let policy = ConvergencePolicy(downtimeTargetNanoseconds: 1_000_000)  // 1 ms at 1 byte/ns = 244 pages
        var state = ConvergenceState()
        guard case let .switchover(expected) = policy.decide(after: observation(dirty: 244), state: &state) else {
            Issue.record("244 pages at 1 byte/ns fit 1 ms")
            return
        }
        #expect((999_423...999_424).contains(expected))
        state = ConvergenceState()
        guard case let .nextRound(more, nil) = policy.decide(after: observation(dirty: 245), state: &state) else {
            Issue.record("245 pages at 1 byte/ns do not fit 1 ms")
            return
        }
        #expect((1_003_519...1_003_520).contains(more))
    }

    @Test("nothing dirty switches over even with a zero target")
    func nothingDirty() {
        var state = ConvergenceState()
        #expect(ConvergencePolicy(downtimeTargetNanoseconds: 0).decide(after: observation(dirty: 0), state: &state)
            == .switchover(expectedDowntimeNanoseconds: 0))
    }

    @Test("auto-converge: 20 % after two high rounds, then +10 % every two, capped at 99 %")
    func throttleSteps() {
        let policy = ConvergencePolicy(downtimeTargetNanoseconds: 1, maxRounds: 100)
        var state = ConvergenceState()
        var throttles: [Int] = []
        for round in 1...40 {
            if case let .nextRound(_, throttle?) = policy.decide(after: observation(round: round, dirty: 600), state: &state) {
                throttles.append(throttle)
            }
        }
        #expect(throttles == [20, 30, 40, 50, 60, 70, 80, 90, 99])
        // Dirtying at most half of what was sent never throttles.
        state = ConvergenceState()
        for round in 1...10 {
            guard case .nextRound(_, nil) = policy.decide(after: observation(round: round, dirty: 500), state: &state) else {
                Issue.record("throttled or stopped at round \(round)")
                return
            }
        }
    }

    @Test("caps: rounds and total time")
    func caps() {
        let policy = ConvergencePolicy(downtimeTargetNanoseconds: 1, maxRounds: 5, maxTotalNanoseconds: 1_000_000_000)
        var state = ConvergenceState()
        guard case let .fail(reason) = policy.decide(after: observation(round: 5, dirty: 10), state: &state) else {
            Issue.record("no round cap")
            return
        }
        #expect(reason.contains("5 rounds"))
        state = ConvergenceState()
        guard case let .fail(timeReason) = policy.decide(after: observation(round: 2, dirty: 10, elapsed: 1_000_000_000), state: &state) else {
            Issue.record("no time cap")
            return
        }
        #expect(timeReason.contains("total-time"))
    }

    @Test("defaults match QEMU and ESX")
    func defaults() {
        let policy = ConvergencePolicy()
        #expect(policy.downtimeTargetNanoseconds == 300_000_000)
        #expect(policy.maxRounds == 30)
        #expect(policy.maxTotalNanoseconds == 100_000_000_000)
    }
}
