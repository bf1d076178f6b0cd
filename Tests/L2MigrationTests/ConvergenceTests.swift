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
        // 1 ms at 1 byte/ns = 244 pages; a share of 1 is QEMU's rule (any fit switches over).
        let policy = ConvergencePolicy(downtimeTargetNanoseconds: 1_000_000, switchoverShare: 1)
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

    /// A decision without its figures, for cases that only check which way it went.
    enum Step: Equatable { case switchover, nextRound, throttle, fail }

    func step(_ decision: ConvergenceDecision) -> Step {
        switch decision {
        case .switchover: .switchover
        case .nextRound(_, nil): .nextRound
        case .nextRound: .throttle
        case .fail: .fail
        }
    }

    /// The expected downtime a decision carries (nil for a failure).
    func expected(_ decision: ConvergenceDecision) -> UInt64? {
        switch decision {
        case let .switchover(expected), let .nextRound(expected, _): expected
        case .fail: nil
        }
    }

    @Test("a fit above the switchover share buys rounds while they halve the expected downtime")
    func roomForAnotherRound() {
        // 300 ms target, share 0.1: at 1 byte/ns, 30 ms is 7324 pages and 300 ms is 73242 pages.
        let policy = ConvergencePolicy(downtimeTargetNanoseconds: 300_000_000, switchoverShare: 0.1)
        var state = ConvergenceState()
        // 200 ms expected: fits, but far above 30 ms and no earlier round to compare with.
        let first = policy.decide(after: observation(round: 1, dirty: 48_828), state: &state)
        #expect(step(first) == .nextRound, "a first fit at two thirds of the target should buy a round")
        #expect((199_999_000...200_000_000).contains(expected(first) ?? 0))
        // 90 ms: less than half of 200, so another round.
        #expect(step(policy.decide(after: observation(round: 2, dirty: 21_973), state: &state)) == .nextRound,
                "a round that more than halved the expected downtime should buy another")
        // 60 ms: not half of 90, so switch over now.
        let last = policy.decide(after: observation(round: 3, dirty: 14_648), state: &state)
        #expect(step(last) == .switchover, "a round that did not halve the expected downtime should end pre-copy")
        #expect((59_998_000...59_999_000).contains(expected(last) ?? 0))
        // Under the share switches over at once, even on the first round.
        state = ConvergenceState()
        let quick = policy.decide(after: observation(round: 1, dirty: 7324), state: &state)
        #expect(step(quick) == .switchover, "an expected downtime under a tenth of the target should switch over at once")
        #expect((29_999_000...30_000_000).contains(expected(quick) ?? 0))
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

    @Test("a bought round never ends worse than QEMU's rule: over the target after it, or out of rounds or time, switch over")
    func boughtRoundsAreSafe() {
        let policy = ConvergencePolicy(downtimeTargetNanoseconds: 300_000_000, maxRounds: 30, maxTotalNanoseconds: 10_000_000_000)
        var state = ConvergenceState()
        // 200 ms fits but not quickly: a round is bought.
        #expect(step(policy.decide(after: observation(round: 1, dirty: 48_828), state: &state)) == .nextRound,
                "the first fit should buy a round")
        // The bandwidth fell: 80 000 pages at a quarter of a byte per nanosecond is 1.3 s, over the
        // target. QEMU would have switched over a round ago; so does this.
        #expect(step(policy.decide(after: observation(round: 2, bytes: 1_000_000, dirty: 80_000), state: &state)) == .switchover,
                "over the target right after a bought round should switch over, not go on or fail")
        // No round is bought on the last or the second-to-last allowed round (round 3 of 3, of 4).
        for maxRounds in [3, 4] {
            state = ConvergenceState()
            let capped = ConvergencePolicy(downtimeTargetNanoseconds: 300_000_000, maxRounds: maxRounds)
            #expect(step(capped.decide(after: observation(round: 3, dirty: 48_828), state: &state)) == .switchover,
                    "a fit on round 3 of \(maxRounds) should switch over")
        }
        // Nor when twice the expected downtime does not fit the time left (200 ms expected, 300 ms left).
        state = ConvergenceState()
        #expect(step(policy.decide(after: observation(round: 1, dirty: 48_828, elapsed: 9_700_000_000), state: &state)) == .switchover,
                "a fit with too little time left should switch over")
        // An unknown previous expectation (no bandwidth yet) never counts as "stopped halving".
        state = ConvergenceState()
        state.previousExpectedDowntimeNanoseconds = .max
        #expect(step(policy.decide(after: observation(round: 2, dirty: 48_828), state: &state)) == .nextRound,
                "a fit after an unknown expectation should buy a round")
    }

    @Test("the first fit after rounds over the target switches over unless that round halved the expectation")
    func firstFitAfterOverTarget() {
        let policy = ConvergencePolicy(downtimeTargetNanoseconds: 300_000_000)
        var state = ConvergenceState()
        // 400 ms: over the target, the next round as before (the rule does not apply).
        #expect(step(policy.decide(after: observation(round: 1, dirty: 97_656), state: &state)) == .nextRound,
                "over the target should send another round")
        var halved = state
        // 250 ms fits, but is more than half of 400: switch over now.
        #expect(step(policy.decide(after: observation(round: 2, dirty: 61_035), state: &state)) == .switchover,
                "a fit that did not halve the expectation should switch over")
        // 150 ms fits and is less than half of 400: one more round.
        #expect(step(policy.decide(after: observation(round: 2, dirty: 36_621), state: &halved)) == .nextRound,
                "a fit that halved the expectation should buy a round")
    }

    @Test("with the defaults a millisecond-sized rest buys rounds while they halve it; a rest under 0.3 ms stuns at once")
    func subMillisecondDefaults() {
        // At 1 byte/ns one page is 4.096 µs: 0.3 ms is 73 pages.
        let policy = ConvergencePolicy()
        var state = ConvergenceState()
        // 2.6 ms (640 pages): QEMU's rule and the old default (30 ms at once) would stun here.
        #expect(step(policy.decide(after: observation(round: 1, dirty: 640), state: &state)) == .nextRound)
        // 0.2 ms (49 pages): under the goal, stun.
        let last = policy.decide(after: observation(round: 2, dirty: 49), state: &state)
        #expect(step(last) == .switchover)
        #expect(expected(last).map { $0 < 300_000 } == true)
        // A rest that stops halving above the goal still stuns, within the target.
        state = ConvergenceState()
        _ = policy.decide(after: observation(round: 1, dirty: 640), state: &state)
        #expect(step(policy.decide(after: observation(round: 2, dirty: 500), state: &state)) == .switchover)
    }

    @Test("defaults: QEMU's downtime limit, ESX-like caps, an immediate switchover under a thousandth of the target")
    func defaults() {
        let policy = ConvergencePolicy()
        #expect(policy.downtimeTargetNanoseconds == 300_000_000)
        #expect(policy.maxRounds == 30)
        #expect(policy.maxTotalNanoseconds == 100_000_000_000)
        #expect(policy.switchoverShare == 0.001)
    }
}
