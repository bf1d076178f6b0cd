import ArgumentParser
import Foundation
import L2Control
import L2Edge
import L2Lab

/// `l2motion fault-matrix`: injects each fault at each moment of a live migration and checks that
/// the VM ends up running on exactly one host with its memory intact.
struct FaultMatrixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault-matrix",
        abstract: "Inject faults (link down, host killed, stalled or corrupted stream) at each moment of a migration and check the outcome.")

    @Option(help: "Runs per cell.") var runs = 10
    @Option(help: "Faults, comma-separated (default all): \(InjectedFault.allCases.map(\.rawValue).joined(separator: ", ")).")
    var faults: String?
    @Option(help: "Moments, comma-separated (default all): \(FaultMoment.allCases.map(\.rawValue).joined(separator: ", ")).")
    var moments: String?
    @Option(help: "The lab's name.") var name = "l2mfault"
    @Option(help: "Where capture runs go.") var captures = "Captures"
    @Option(help: "Write the Markdown table here (e.g. docs/RELIABILITY.md).") var output: String?
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws { try Limits.runs.validate(runs) }

    func run() throws {
        let logger = LoggingSetup.bootstrap(label: "l2motion.faults")
        let faultList = try faults.map { text in
            try text.split(separator: ",").map { name in
                guard let fault = InjectedFault(rawValue: String(name)) else { throw ValidationError("unknown fault \(name)") }
                return fault
            }
        } ?? InjectedFault.allCases
        let momentList = try moments.map { text in
            try text.split(separator: ",").map { name in
                guard let moment = FaultMoment(rawValue: String(name)) else { throw ValidationError("unknown moment \(name)") }
                return moment
            }
        } ?? FaultMoment.allCases
        CleanupOnSignal.install(lab: name)
        let quiet = outputOptions.json
        let matrix = FaultMatrix(runs: runs, faults: faultList, moments: momentList, labName: name, captureRoot: captures,
                                 logger: logger) { run in
            if !quiet {
                print("\(run.passed ? "ok  " : "FAIL") \(run.fault.rawValue) at \(run.moment.rawValue): \(run.outcome)"
                      + (run.problems.isEmpty ? "" : " — " + run.problems.joined(separator: "; ")))
                fflush(nil)
            }
        }
        let results = try matrix.run()
        CleanupOnSignal.disarm()
        if let output {
            let command = "l2motion fault-matrix --runs \(runs)" + (faults.map { " --faults \($0)" } ?? "") + (moments.map { " --moments \($0)" } ?? "")
            try ReliabilityReport.markdown(results, command: command, build: Self.build())
                .write(toFile: output, atomically: true, encoding: .utf8)
        }
        if quiet { try printJSON(results) }
        let failed = results.filter { !$0.passed }.count
        if !quiet { print("\(results.count - failed) passed, \(failed) failed") }
        if failed > 0 { throw ExitCode(1) }
    }

    /// Which code ran: this binary, and the commit of the git checkout it was run from (marked when
    /// that checkout has uncommitted changes), as the report's source line.
    static func build() -> String {
        let binary = LabLifecycle.executable
        guard let commit = try? CommandRunner.run(["git", "rev-parse", "--short", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines),
              !commit.isEmpty else { return "binary \(binary)" }
        let clean = CommandRunner.succeeds(["git", "diff", "--quiet", "HEAD"])
        return "binary \(binary), run from the checkout at commit \(commit)\(clean ? "" : " with uncommitted changes")"
    }
}
