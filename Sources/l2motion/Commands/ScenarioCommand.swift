import ArgumentParser
import Foundation
import L2Lab

/// `l2motion scenario list|run`: the field's failure modes, reproduced on purpose.
struct ScenarioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario", abstract: "Reproduce a failure mode from the field and check what happens.",
        discussion: "Each scenario runs a migration under ping with one thing changed, says what the field expects and why, "
            + "and passes when exactly that is observed (an expected outage is a pass, with its length). See docs/SCENARIOS.md.",
        subcommands: [List.self, Run.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the scenarios.")
        @OptionGroup var output: OutputOptions

        func run() throws {
            if output.json {
                try printJSON(ScenarioCatalog.all.map { ScenarioSummary($0) })
                return
            }
            let width = ScenarioCatalog.all.map(\.name.count).max() ?? 0
            for scenario in ScenarioCatalog.all {
                print("\(scenario.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(scenario.title)")
            }
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run", abstract: "Run one scenario (each part brings its own lab up and down).")
        @Argument(help: "The scenario (see `l2motion scenario list`).") var scenario: String
        @Option(help: "The lab's name; a scenario with several parts adds the part's number (name1, name2).") var name = "scn"
        @Option(help: "Where capture runs go.") var captures = "Captures"
        @Flag(help: "Leave each part's lab up at the end.") var keep = false
        @OptionGroup var output: OutputOptions

        func validate() throws {
            do { _ = try ScenarioCatalog.named(scenario) } catch { throw ValidationError("\(error)") }
            let parts = (try? ScenarioCatalog.named(scenario).parts.count) ?? 1
            let limit = parts > 1 ? 7 : 8
            guard !name.isEmpty, name.count <= limit, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                throw ValidationError("--name \"\(name)\" must be 1-\(limit) letters or digits (it prefixes every namespace\(parts > 1 ? ", and the part's number is added" : ""))")
            }
        }

        func run() throws {
            let scenario = try ScenarioCatalog.named(scenario)
            let logger = LoggingSetup.bootstrap(label: "l2motion.scenario")
            let labs = scenario.parts.count == 1 ? [name] : scenario.parts.indices.map { "\(name)\($0 + 1)" }
            CleanupOnSignal.install(labs: labs)
            let quiet = output.json
            let runner = ScenarioRunner(labName: name, captureRoot: captures, keep: keep, logger: logger) { line in
                if !quiet { print(line) }
            }
            let report = runner.run(scenario)
            CleanupOnSignal.disarm()
            if output.json { try printJSON(report) } else { print("\n" + report.text) }
            if !report.passed { throw ExitCode(1) }
        }
    }
}

/// A scenario's name, title and field report, for `scenario list --json`.
struct ScenarioSummary: Encodable {
    var name: String
    var title: String
    var fieldReport: String
    var parts: [String]

    init(_ scenario: Scenario) {
        name = scenario.name
        title = scenario.title
        fieldReport = scenario.fieldReport
        parts = scenario.parts.map(\.name)
    }

    enum CodingKeys: String, CodingKey {
        case name, title, parts
        case fieldReport = "field-report"
    }
}
