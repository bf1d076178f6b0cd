import Foundation
import L2Control
import L2Edge

extension MigrationCoordinator {
    /// What the resolution of an ambiguous end came to, and the destination's last record for the report.
    struct Resolved {
        let verdict: ResolutionVerdict
        let destinationRecord: MigrationProgress?
    }

    /// The source could not tell how the switchover ended: carries out `MigrationResolution`'s
    /// actions against the real hosts until it decides. The decisions are all in that pure state
    /// machine; this only makes the calls and the pauses it asks for.
    func resolve(id: String, source: String, destination: String, sourceLost: Bool) -> Resolved {
        var resolution = MigrationResolution(sourceLost: sourceLost)
        var action = resolution.start(now: SystemClock.monotonicNanoseconds())
        while true {
            let event: MigrationResolution.Event
            switch action {
            case let .finish(verdict):
                // The destination's record after the decision (its resume and announce times).
                let last = try? directory.host(destination, HostCall.migrationStatus(id), timeoutSeconds: 2)
                return Resolved(verdict: verdict, destinationRecord: last ?? resolution.destinationRecord)
            case .askDestination:
                event = .destination(.init(Result { () throws(ControlError) in
                    try directory.host(destination, HostCall.migrationStatus(id), timeoutSeconds: 2)
                }))
            case let .pause(nanoseconds):
                usleep(UInt32(min(nanoseconds / 1000, UInt64(UInt32.max))))
                event = .paused
            case let .tellDestination(decision):
                _ = try? directory.host(destination, HostCall.migrationResolve(id, decision))
                event = .told
            case .cancelDestination:
                _ = try? directory.host(destination, HostCall.migrateCancel(id), timeoutSeconds: 2)
                event = .told
            case let .tellSource(decision):
                do {
                    _ = try directory.host(source, HostCall.migrationResolve(id, decision))
                    event = .sourceAnswered(nil)
                } catch {
                    event = .sourceAnswered(error)
                }
            }
            action = resolution.receive(event, now: SystemClock.monotonicNanoseconds())
        }
    }
}
