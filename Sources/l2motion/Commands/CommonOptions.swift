import ArgumentParser
import Foundation
import L2Capture
import L2Control
import L2Lab

/// Options every verb that talks to a running lab shares.
struct LabOptions: ParsableArguments {
    @Option(name: .customLong("lab"), help: "The lab's name (its run folder is /run/l2motion/<lab>).")
    var labName: String = "l2m"
    @Option(name: .long, help: "A lab across machines: this machine's part of it (its run folder is /run/l2motion/<lab>-<machine>).")
    var machine: String?

    /// The lab the verb talks to: the lab, or this machine's part of it.
    var lab: String { machine.map { L2Lab.Topology.partName(lab: labName, machine: $0) } ?? labName }

    var runFolder: RunFolder { RunFolder(lab: lab) }
}

/// `--json` for machine-readable output.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false
}

/// Reads the environment without Foundation's ProcessInfo in hot paths.
enum ProcessInfoLite {
    static func environment(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }
}

/// Prints `value` as sorted, pretty JSON on stdout.
func printJSON<T: Encodable>(_ value: T) throws {
    let data = try ControlJSON.prettyEncoder.encode(value)
    print(String(decoding: data, as: UTF8.self))
}

/// Prints rows as an aligned text table with a header line.
func printTable(_ header: [String], _ rows: [[String]]) {
    var widths = header.map(\.count)
    for row in rows {
        for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }
    print(line(header))
    for row in rows { print(line(row)) }
}

/// Turns any thrown error into a one-line message and exit status 1 (ArgumentParser prints it).
struct UserFacingError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

extension NumericLimit {
    /// The same check as `check`, as ArgumentParser's validation error (printed with the usage).
    func validate(_ value: Double) throws {
        do { try check(value) } catch { throw ValidationError(error.message) }
    }

    func validate(_ value: Int) throws { try validate(Double(value)) }
}

/// `--capture-format` and `--egress-records` for commands that bring a lab up: they override what
/// the topology says for every switch.
struct CaptureOptions: ParsableArguments {
    @Option(help: "Every switch's capture format: pcapng (default; ports as interfaces, directions, comments) or pcap.")
    var captureFormat: CaptureFormat?

    @Flag(help: "Also record each copy a switch sends, on its egress port, direction outbound, same packet id, first 128 bytes (pcapng only).")
    var egressRecords = false

    func validate() throws {
        if egressRecords && captureFormat == .pcap {
            throw ValidationError("--egress-records needs --capture-format pcapng (pcap has no directions)")
        }
    }

    func apply(to topology: inout L2Lab.Topology) {
        topology.overrideCaptures(format: captureFormat, egressRecords: egressRecords ? true : nil)
    }
}
