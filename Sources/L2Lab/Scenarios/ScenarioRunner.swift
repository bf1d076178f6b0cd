import Foundation
import Logging

/// Runs a scenario: each part brings its own lab up (named after `labName`, with the part's number
/// when there are several), runs, and takes the lab down again unless `keep`.
public struct ScenarioRunner: Sendable {
    public var labName: String
    public var captureRoot: String
    public var keep: Bool
    public let logger: Logger
    public let say: @Sendable (String) -> Void

    public init(labName: String = "scn", captureRoot: String = "Captures", keep: Bool = false, logger: Logger,
                say: @escaping @Sendable (String) -> Void) {
        self.labName = labName
        self.captureRoot = captureRoot
        self.keep = keep
        self.logger = logger
        self.say = say
    }

    public func run(_ scenario: Scenario) -> ScenarioReport {
        var parts: [ScenarioPartReport] = []
        for (index, part) in scenario.parts.enumerated() {
            let name = scenario.parts.count == 1 ? labName : "\(labName)\(index + 1)"
            say("[\(scenario.name) \(index + 1)/\(scenario.parts.count)] \(part.name)")
            parts.append(run(part, labName: name))
        }
        return ScenarioReport(name: scenario.name, title: scenario.title, fieldReport: scenario.fieldReport,
                              parts: parts, filters: scenario.filters)
    }

    func run(_ part: ScenarioPart, labName: String) -> ScenarioPartReport {
        var report = ScenarioPartReport(name: part.name, expectation: part.expectation)
        let topology: Topology
        do {
            topology = try part.topology().renamed(labName)
            let problems = TopologyValidator.problems(in: topology)
            guard problems.isEmpty else { throw TopologyError(source: "scenario part \"\(part.name)\"", problems: problems) }
        } catch {
            report.error = "\(error)"
            return report
        }
        let state: LabState
        do {
            state = try LabLifecycle.up(topology, captureRoot: captureRoot, logger: logger) { say("  " + $0) }
        } catch {
            report.error = "the lab did not come up: \(error)"
            return report
        }
        report.captureDirectory = state.captureDirectory
        defer {
            if keep {
                say("  lab \(labName) left up (--keep); take it down with `l2motion lab down --name \(labName)`")
            } else {
                _ = try? LabLifecycle.down(lab: labName)
            }
        }
        do {
            let lab = try ScenarioLab(topology: topology, state: state, say: say)
            defer { lab.endBackground() }
            do {
                report.checks = try part.run(lab)
            } catch {
                report.error = "\(error)"
            }
            report.figures = lab.figures
            report.notes = lab.notes
        } catch {
            report.error = "\(error)"
        }
        for check in report.checks { say("  [\(check.passed ? "ok" : "FAILED")] \(check.expectation): \(check.observed)") }
        return report
    }
}

extension Topology {
    /// The same topology under another lab name.
    func renamed(_ name: String) -> Topology {
        var copy = self
        copy.name = name
        return copy
    }
}
