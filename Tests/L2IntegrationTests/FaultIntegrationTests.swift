import Foundation
import L2Edge
import L2Lab
import Logging
import Testing

/// A CI-sized subset of the fault matrix (`l2motion fault-matrix` runs all of it, 10 times per cell,
/// for docs/RELIABILITY.md): each case injects one fault at one moment of a real migration and checks
/// that the VM runs on exactly one host with its memory intact, and that the lab migrates it again.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct FaultIntegrationTests {
    static let cases: [(InjectedFault, FaultMoment)] = [
        (.linkDown, .round1),
        (.linkDown, .resumedBeforeCommit),
        (.destinationKilled, .round1),
        (.destinationKilled, .resumedBeforeCommit),
        (.sourceKilled, .round1),
        (.sourceKilled, .resumedBeforeCommit),
        (.destinationStalled, .round1),
        (.corruptStream, .round1),
        (.truncatedStream, .switchover),
        (.corruptStream, .preflight),
    ]

    @Test("a fault during a migration leaves the VM on exactly one host, memory intact", arguments: cases)
    func fault(_ fault: InjectedFault, at moment: FaultMoment) throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let name = TestLab.uniqueName()
        defer { _ = try? LabLifecycle.down(lab: name) }
        setenv("L2MOTION_EXECUTABLE", RootEnvironment.binary, 1)
        let matrix = FaultMatrix(runs: 1, faults: [fault], moments: [moment], labName: name,
                                 captureRoot: sandbox.directory + "/Captures", logger: Logger(label: "test"))
        let results = try matrix.run()
        let run = try #require(results.first)
        #expect(run.passed, "\(fault.rawValue) at \(moment.rawValue): \(run.outcome) — \(run.problems)")
        #expect(run.runningOn.count <= 1, "never two copies: \(run.runningOn)")
        #expect(run.duplicateReplies == 0)
        if !run.expectedDown {
            #expect(run.runningOn.count == 1, "the VM runs somewhere: \(run.outcome)")
            if let before = run.counterBefore, let after = run.counterAfter { #expect(after > before) }
        }
    }
}
