import L2Control
import Testing

/// A destination host as the coordinator sees it, scripted: what it answers to `migration-status`
/// before and after it is told to cancel, and whether it resumed the VM on its own.
struct FakeDestination {
    enum Behaviour: String, CaseIterable, Sendable {
        /// Its control socket refuses connections: the process is gone.
        case dead
        /// It never heard of the migration.
        case unknown
        /// It already discarded its copy.
        case discarded
        /// It runs the VM.
        case running
        /// Waiting for the coordinator, not running; discards when told.
        case awaitingThenDiscards
        /// Still receiving; the switchover was already in its socket, so it resumes before the cancel lands.
        case activeThenRuns
        /// Still receiving; discards when told to cancel.
        case activeThenDiscards
        /// Answers but never settles.
        case neverSettles
        /// Exists but never answers.
        case silent
        /// Does not answer for a few tries, then answers that it runs the VM.
        case slowThenRunning
        /// Answers, but stops answering once told to cancel.
        case silentAfterCancel
    }

    let behaviour: Behaviour
    var cancelled = false
    var told: [ResolveDecision] = []
    var asked = 0

    var runsVM: Bool {
        switch behaviour {
        case .running: true
        case .activeThenRuns: cancelled
        case .slowThenRunning: asked > 3
        default: false
        }
    }

    mutating func status() -> MigrationResolution.DestinationAnswer {
        asked += 1
        func record(_ status: MigrationProgressStatus, running: Bool) -> MigrationResolution.DestinationAnswer {
            var progress = MigrationProgress(id: "m1", role: .destination, vm: "web01")
            progress.status = status
            progress.vmRunningHere = running
            progress.vmHere = running
            return .record(progress)
        }
        switch behaviour {
        case .dead: return .dead
        case .unknown: return .unknownMigration
        case .discarded: return record(.discarded, running: false)
        case .running: return record(.awaitingCoordinator, running: true)
        case .awaitingThenDiscards:
            return told.contains(.discard) || cancelled ? record(.discarded, running: false) : record(.awaitingCoordinator, running: false)
        case .activeThenRuns: return record(cancelled ? .awaitingCoordinator : .active, running: cancelled)
        case .activeThenDiscards: return record(cancelled ? .discarded : .active, running: false)
        case .neverSettles: return record(.active, running: false)
        case .silent: return .noAnswer
        case .slowThenRunning: return asked > 3 ? record(.awaitingCoordinator, running: true) : .noAnswer
        case .silentAfterCancel: return cancelled ? .noAnswer : record(.active, running: false)
        }
    }
}

/// Drives `MigrationResolution` against a fake destination and a fake source on a test clock.
struct ResolutionRun {
    var destination: FakeDestination
    var sourceResumeFails = false
    var sourceResumed = false
    var sourceReleased = false
    var actions: [MigrationResolution.Action] = []
    var now: UInt64 = 1_000_000_000

    init(_ behaviour: FakeDestination.Behaviour, sourceResumeFails: Bool = false) {
        destination = FakeDestination(behaviour: behaviour)
        self.sourceResumeFails = sourceResumeFails
    }

    mutating func run(sourceLost: Bool) -> ResolutionVerdict {
        var resolution = MigrationResolution(sourceLost: sourceLost)
        var action = resolution.start(now: now)
        for _ in 0..<100_000 {
            actions.append(action)
            let event: MigrationResolution.Event
            switch action {
            case let .finish(verdict):
                return verdict
            case .askDestination:
                now += 2_000_000  // a control call takes a little time
                event = .destination(destination.status())
            case let .pause(nanoseconds):
                now += nanoseconds
                event = .paused
            case let .tellDestination(decision):
                destination.told.append(decision)
                event = .told
            case .cancelDestination:
                destination.cancelled = true
                event = .told
            case let .tellSource(decision):
                if decision == .resume {
                    if sourceResumeFails { event = .sourceAnswered(ControlError(.failed, "the VM's memory is gone")) } else {
                        sourceResumed = true
                        event = .sourceAnswered(nil)
                    }
                } else {
                    sourceReleased = true
                    event = .sourceAnswered(nil)
                }
            }
            action = resolution.receive(event, now: now)
        }
        Issue.record("the resolution did not finish")
        return .destinationSilent
    }
}

@Suite("The coordinator's resolution of an ambiguous end, without hosts")
struct ResolutionTests {
    @Test func destinationRunningKeepsItAndReleasesTheSource() {
        var run = ResolutionRun(.running)
        #expect(run.run(sourceLost: false) == .runsOnDestination)
        #expect(run.actions == [.askDestination, .tellDestination(.keep), .tellSource(.release), .finish(.runsOnDestination)])
        #expect(run.sourceReleased && !run.sourceResumed)
    }

    @Test func deadDestinationLetsTheSourceResume() {
        var run = ResolutionRun(.dead)
        #expect(run.run(sourceLost: false) == .resumedOnSource)
        #expect(run.actions == [.askDestination, .tellSource(.resume), .finish(.resumedOnSource)])
        #expect(run.sourceResumed)
    }

    @Test func awaitingDestinationIsToldToDiscardAndFencedBeforeTheSourceResumes() {
        var run = ResolutionRun(.awaitingThenDiscards)
        #expect(run.run(sourceLost: false) == .resumedOnSource)
        #expect(run.actions == [.askDestination, .tellDestination(.discard), .cancelDestination, .askDestination,
                                .tellSource(.resume), .finish(.resumedOnSource)])
    }

    /// The switchover was already in the destination's socket: it resumes as the cancel arrives. The
    /// source must then stay released, never resume.
    @Test func destinationThatResumesDuringTheFenceKeepsTheVM() {
        var run = ResolutionRun(.activeThenRuns)
        #expect(run.run(sourceLost: false) == .runsOnDestination)
        #expect(!run.sourceResumed && run.sourceReleased)
        #expect(run.destination.told == [.keep])
    }

    @Test func destinationThatNeverSettlesLeavesTheVMStunnedAfterThirtySeconds() {
        var run = ResolutionRun(.neverSettles)
        let start = run.now
        #expect(run.run(sourceLost: false) == .destinationUndecided("did not settle within 30 s of being told to cancel"))
        #expect(!run.sourceResumed && !run.sourceReleased)
        #expect(run.now - start >= MigrationResolution.fenceWindowNanoseconds)
        #expect(run.now - start < MigrationResolution.fenceWindowNanoseconds + 1_000_000_000)
    }

    @Test func silentDestinationIsAskedForAMinuteThenNothingIsGuessed() {
        var run = ResolutionRun(.silent)
        let start = run.now
        let verdict = run.run(sourceLost: false)
        #expect(verdict == .destinationSilent)
        #expect(!run.sourceResumed && !run.sourceReleased)
        #expect(run.now - start >= MigrationResolution.answerWindowNanoseconds)
        // One question per 200 ms pause (plus the call's own time).
        #expect((280...301).contains(run.destination.asked), "asked \(run.destination.asked) times")
        #expect(verdict.outcome(vm: "web01", id: "m1", source: "esx01", destination: "esx02")
                == "unresolved: esx02 does not answer, so whether it runs web01 is unknown; web01 stays stunned on esx01 until it can be decided (migration m1)")
    }

    @Test func aSlowAnswerIsWaitedFor() {
        var run = ResolutionRun(.slowThenRunning)
        #expect(run.run(sourceLost: false) == .runsOnDestination)
        #expect(run.destination.asked == 4)
    }

    @Test func destinationSilentAfterTheCancelIsUndecided() {
        var run = ResolutionRun(.silentAfterCancel)
        #expect(run.run(sourceLost: false) == .destinationUndecided("does not answer"))
        #expect(!run.sourceResumed)
    }

    @Test func deadSourceCannotResume() {
        var run = ResolutionRun(.unknown)
        #expect(run.run(sourceLost: true) == .sourceDied)
        #expect(!run.actions.contains(.tellSource(.resume)))
    }

    @Test func sourceThatCannotResumeIsReportedDown() {
        var run = ResolutionRun(.discarded, sourceResumeFails: true)
        let verdict = run.run(sourceLost: false)
        #expect(verdict == .down(sourceError: "the VM's memory is gone"))
        #expect(verdict.outcome(vm: "web01", id: "m1", source: "esx01", destination: "esx02")
                == "esx01 could not resume web01 (the VM's memory is gone); esx02 does not run it: web01 is down")
    }

    /// Every destination behaviour, with the source alive or dead and its resume working or not: two
    /// copies never run, a resumed source means a destination that does not run the VM, and a
    /// destination that runs it is never undercut by a resume.
    @Test(arguments: FakeDestination.Behaviour.allCases, [false, true])
    func neverTwoCopies(behaviour: FakeDestination.Behaviour, sourceLost: Bool) {
        for resumeFails in [false, true] {
            var run = ResolutionRun(behaviour, sourceResumeFails: resumeFails)
            let verdict = run.run(sourceLost: sourceLost)
            #expect(!(run.sourceResumed && run.destination.runsVM), "\(behaviour): two copies run")
            switch verdict {
            case .runsOnDestination: #expect(run.destination.runsVM && !run.sourceResumed)
            case .resumedOnSource: #expect(run.sourceResumed && !run.destination.runsVM && !sourceLost)
            case .down, .sourceDied: #expect(!run.sourceResumed && !run.destination.runsVM)
            case .destinationSilent, .destinationUndecided: #expect(!run.sourceResumed && !run.sourceReleased)
            }
            if run.destination.runsVM { #expect(verdict == .runsOnDestination, "\(behaviour): \(verdict)") }
        }
    }

    @Test func answersAreClassifiedByCodeNotWords() {
        func kind(_ error: ControlError) -> String {
            switch MigrationResolution.DestinationAnswer(.failure(error)) {
            case .dead: "dead"
            case .unknownMigration: "unknown"
            case .noAnswer: "no answer"
            case .record: "record"
            }
        }
        #expect(kind(ControlError(.unreachable, "no migration here")) == "dead")
        #expect(kind(ControlError(.notFound, "cannot reach")) == "unknown")
        #expect(kind(ControlError(.noAnswer, "timeout")) == "no answer")
        #expect(kind(ControlError(.failed, "no migration x")) == "no answer")
        #expect(kind(.permissionDenied) == "no answer")
    }

    @Test func eventsThatDoNotAnswerTheLastActionRepeatIt() {
        var resolution = MigrationResolution(sourceLost: false)
        #expect(resolution.start(now: 0) == .askDestination)
        #expect(resolution.receive(.told, now: 1) == .askDestination)
        #expect(resolution.receive(.sourceAnswered(nil), now: 2) == .askDestination)
        #expect(resolution.verdict == nil)
        #expect(resolution.receive(.destination(.dead), now: 3) == .tellSource(.resume))
        #expect(resolution.receive(.paused, now: 4) == .tellSource(.resume))
        #expect(resolution.receive(.sourceAnswered(nil), now: 5) == .finish(.resumedOnSource))
        #expect(resolution.verdict == .resumedOnSource)
        #expect(resolution.receive(.told, now: 6) == .finish(.resumedOnSource))
    }
}
