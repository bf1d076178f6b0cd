/// The coordinator's decision, pure, for a migration whose end the source could not see (it is
/// awaiting the coordinator, or it died): who runs the VM now. Two copies never run: the destination
/// keeps the VM only if it runs there; otherwise it is fenced first (told to cancel, and seen to have
/// discarded its copy) and only then does the source resume. When a host cannot be heard, nothing is
/// guessed: the VM stays stunned and the verdict says so.
///
/// Sans-I/O: `start(now:)` and `receive(_:now:)` return the next `Action`; the caller carries it out
/// (a control call, a pause) and reports what happened as an `Event`. Time is passed in.
public struct MigrationResolution: Sendable {
    /// A host that exists but gives no answer is asked again for this long before it counts as silent.
    public static let answerWindowNanoseconds: UInt64 = 60_000_000_000
    public static let retryPauseNanoseconds: UInt64 = 200_000_000
    /// How long a destination told to cancel has to discard its copy (or show it runs the VM).
    public static let fenceWindowNanoseconds: UInt64 = 30_000_000_000
    public static let fencePauseNanoseconds: UInt64 = 10_000_000

    /// What the caller must do next.
    public enum Action: Sendable, Equatable {
        /// Ask the destination for its record (`migration-status`); answer with `.destination`.
        case askDestination
        /// Wait, then answer with `.paused`.
        case pause(nanoseconds: UInt64)
        /// Send the destination a decision (`migration-resolve`); answer with `.told` whatever it says.
        case tellDestination(ResolveDecision)
        /// Tell the destination to drop the migration (`migrate-cancel`); answer with `.told`.
        case cancelDestination
        /// Send the source a decision; answer with `.sourceAnswered` (nil: done, else its error).
        case tellSource(ResolveDecision)
        /// Decided (or undecidable): nothing more to do.
        case finish(ResolutionVerdict)
    }

    /// What happened after an action.
    public enum Event: Sendable {
        case destination(DestinationAnswer)
        case paused
        case told
        case sourceAnswered(ControlError?)
    }

    /// The destination's answer to `migration-status`, classified by the error's code (never its words).
    public enum DestinationAnswer: Sendable {
        case record(MigrationProgress)
        /// Its control socket refuses connections: the process is gone, so it runs nothing.
        case dead
        /// It answers but never heard of the migration: it runs nothing of it.
        case unknownMigration
        /// No usable answer this time (timeout, a stopped process): ask again.
        case noAnswer

        public init(_ result: Result<MigrationProgress, ControlError>) {
            switch result {
            case let .success(record): self = .record(record)
            case let .failure(error) where error.code == .unreachable: self = .dead
            case let .failure(error) where error.code == .notFound: self = .unknownMigration
            case .failure: self = .noAnswer
            }
        }
    }

    private enum Stage: Sendable {
        case start
        /// Waiting for the first answer; asked since `since`.
        case locating(since: UInt64)
        case locatingPause(since: UInt64)
        /// Told an undecided destination to discard; then fence with what it said before.
        case discarding(MigrationProgress)
        /// Told the destination to cancel; polling until it settles or `deadline`.
        case cancelling(deadline: UInt64)
        case fencing(deadline: UInt64, since: UInt64)
        case fencingPause(deadline: UInt64, since: UInt64)
        /// It runs the VM: told it to keep it, then the source to release its copy.
        case keeping
        case releasing
        case resuming
        case finished(ResolutionVerdict)
    }

    /// The source died (its record was lost) rather than waiting for the coordinator: after a fence,
    /// nobody can resume the VM.
    public let sourceLost: Bool
    private var stage = Stage.start
    /// The latest record the destination gave, for the report.
    public private(set) var destinationRecord: MigrationProgress?

    public init(sourceLost: Bool) { self.sourceLost = sourceLost }

    public var verdict: ResolutionVerdict? { if case let .finished(verdict) = stage { verdict } else { nil } }

    public mutating func start(now: UInt64) -> Action {
        stage = .locating(since: now)
        return .askDestination
    }

    public mutating func receive(_ event: Event, now: UInt64) -> Action {
        switch (stage, event) {
        case let (.locating(since), .destination(answer)):
            switch answer {
            case .noAnswer:
                guard now &- since < Self.answerWindowNanoseconds else { return finish(.destinationSilent) }
                stage = .locatingPause(since: since)
                return .pause(nanoseconds: Self.retryPauseNanoseconds)
            case .dead, .unknownMigration:
                return fenced()
            case let .record(record):
                destinationRecord = record
                if !record.vmRunningHere, record.status == .awaitingCoordinator {
                    stage = .discarding(record)
                    return .tellDestination(.discard)
                }
                return fence(record, now: now)
            }
        case let (.locatingPause(since), .paused):
            stage = .locating(since: since)
            return .askDestination
        case let (.discarding(record), .told):
            return fence(record, now: now)
        case let (.cancelling(deadline), .told):
            stage = .fencing(deadline: deadline, since: now)
            return .askDestination
        case let (.fencing(deadline, since), .destination(answer)):
            switch answer {
            case .dead, .unknownMigration:
                return fenced()
            case .noAnswer:
                guard now &- since < Self.answerWindowNanoseconds else { return finish(.destinationUndecided("does not answer")) }
                stage = .fencingPause(deadline: deadline, since: since)
                return .pause(nanoseconds: Self.retryPauseNanoseconds)
            case let .record(record):
                destinationRecord = record
                if record.vmRunningHere { return keep() }
                if record.status == .discarded { return fenced() }
                guard now < deadline else {
                    return finish(.destinationUndecided("did not settle within \(Self.fenceWindowNanoseconds / 1_000_000_000) s of being told to cancel"))
                }
                stage = .fencingPause(deadline: deadline, since: now)
                return .pause(nanoseconds: Self.fencePauseNanoseconds)
            }
        case let (.fencingPause(deadline, since), .paused):
            stage = .fencing(deadline: deadline, since: since)
            return .askDestination
        case (.keeping, .told):
            stage = .releasing
            return .tellSource(.release)
        case (.releasing, .sourceAnswered):
            // Whatever the source says: the destination runs the only copy.
            return finish(.runsOnDestination)
        case let (.resuming, .sourceAnswered(error)):
            if let error { return finish(.down(sourceError: error.message)) }
            return finish(.resumedOnSource)
        case let (.finished(verdict), _):
            return .finish(verdict)
        default:
            // An event that does not answer the last action: ignore it and repeat that action.
            return repeatLastAction()
        }
    }

    /// Settles a destination that answered with `record`: it runs the VM, has discarded it, or must be
    /// told to cancel and watched until it does one or the other.
    private mutating func fence(_ record: MigrationProgress, now: UInt64) -> Action {
        if record.vmRunningHere { return keep() }
        if record.status == .discarded { return fenced() }
        stage = .cancelling(deadline: now &+ Self.fenceWindowNanoseconds)
        return .cancelDestination
    }

    private mutating func keep() -> Action {
        stage = .keeping
        return .tellDestination(.keep)
    }

    /// The destination will never run the VM: resume it on the source, unless the source died.
    private mutating func fenced() -> Action {
        if sourceLost { return finish(.sourceDied) }
        stage = .resuming
        return .tellSource(.resume)
    }

    private mutating func finish(_ verdict: ResolutionVerdict) -> Action {
        stage = .finished(verdict)
        return .finish(verdict)
    }

    private func repeatLastAction() -> Action {
        switch stage {
        case .start, .locating, .fencing, .cancelling: .askDestination
        case .locatingPause: .pause(nanoseconds: Self.retryPauseNanoseconds)
        case .fencingPause: .pause(nanoseconds: Self.fencePauseNanoseconds)
        case .discarding: .tellDestination(.discard)
        case .keeping: .tellDestination(.keep)
        case .releasing: .tellSource(.release)
        case .resuming: .tellSource(.resume)
        case let .finished(verdict): .finish(verdict)
        }
    }
}

/// Who runs the VM after the coordinator resolved an ambiguous end.
public enum ResolutionVerdict: Sendable, Equatable {
    /// The destination runs it; the source released its copy.
    case runsOnDestination
    /// The destination never ran it and was fenced; the source resumed it.
    case resumedOnSource
    /// The destination was fenced, but the source could not resume: the VM is down.
    case down(sourceError: String)
    /// The source itself died before the destination ran the VM: the VM is down.
    case sourceDied
    /// The destination never answered: unknown whether it runs the VM; the source stays stunned.
    case destinationSilent
    /// The destination answered but did not settle after a cancel: the source stays stunned.
    case destinationUndecided(String)

    /// The verdict in the words of a migration report.
    public func outcome(vm: String, id: String, source: String, destination: String) -> String {
        switch self {
        case .runsOnDestination:
            "\(vm) runs on \(destination) (the coordinator confirmed it after the link to \(source) was lost)"
        case .resumedOnSource:
            "\(vm) resumed on \(source) (\(destination) never ran it)"
        case let .down(sourceError):
            "\(source) could not resume \(vm) (\(sourceError)); \(destination) does not run it: \(vm) is down"
        case .sourceDied:
            "\(source) died during the migration before \(destination) ran \(vm): \(vm) is down (the source itself failed)"
        case .destinationSilent:
            "unresolved: \(destination) does not answer, so whether it runs \(vm) is unknown; \(vm) stays stunned on \(source) until it can be decided (migration \(id))"
        case let .destinationUndecided(why):
            "unresolved: \(destination) \(why), so whether it will run \(vm) is unknown; \(vm) stays stunned on \(source) until it can be decided (migration \(id))"
        }
    }
}
