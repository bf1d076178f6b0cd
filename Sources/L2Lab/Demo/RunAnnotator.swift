import Foundation
import L2Capture
import L2Control
import L2Edge

/// Why a run could not be annotated, in words that say what to do.
public struct AnnotateError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What `RunAnnotator` wrote.
public struct RunAnnotation: Sendable {
    /// The merged file (`RUN-DIR/migration.pcapng`).
    public var path: String
    public var frames: Int
    public var interfaces: [String]
    /// One per event, in time order.
    public var placements: [EventPlacement]
    /// Statistics blocks carried over; 0 while the captures are still open (the switches write them
    /// when they stop).
    public var statistics: Int
    /// Things a reader of the file should know (captures still being written, an incomplete last block).
    public var notes: [String]
}

/// Writes `migration.pcapng` for a demo run: the production and vMotion captures the run's report
/// names, merged in time order, with the migration's events as comments (`CaptureMerge`,
/// `MigrationEvents`). For `l2motion annotate RUN-DIR` and the end of `l2motion demo`.
public enum RunAnnotator {
    public static let fileName = "migration.pcapng"

    /// Reads `runDirectory/report.json` and annotates the captures it names.
    public static func annotate(runDirectory given: String, application: String = Product.nameAndVersion) throws(AnnotateError) -> RunAnnotation {
        var runDirectory = given
        while runDirectory.count > 1 && runDirectory.hasSuffix("/") { runDirectory.removeLast() }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: runDirectory, isDirectory: &isDirectory) else {
            throw AnnotateError("no run folder \(runDirectory); give the folder of a demo run, e.g. Captures/<run>/ (the one holding report.json)")
        }
        guard isDirectory.boolValue else {
            throw AnnotateError("\(runDirectory) is a file; give the folder of a demo run, e.g. Captures/<run>/ (the one holding report.json)")
        }
        let reportPath = "\(runDirectory)/report.json"
        guard let data = FileManager.default.contents(atPath: reportPath) else {
            throw AnnotateError("\(runDirectory) has no report.json; annotate reads the report `l2motion demo` writes into its run folder")
        }
        let report: DemoReport
        do {
            report = try ControlJSON.decoder.decode(DemoReport.self, from: data)
        } catch {
            throw AnnotateError("\(reportPath) is not a demo report (\(error)); annotate needs the report.json of an `l2motion demo` run")
        }
        return try annotate(report, runDirectory: runDirectory, application: application)
    }

    /// Annotates the captures `report` names; writes `runDirectory/migration.pcapng`.
    public static func annotate(_ report: DemoReport, runDirectory: String,
                                application: String = Product.nameAndVersion) throws(AnnotateError) -> RunAnnotation {
        var notes: [String] = []
        var inputs: [CaptureMerge.Input] = []
        for path in [report.captures.pswitch, report.captures.vmotion] {
            let name = DemoReport.Captures.switchName(ofCapture: path)
            let file = try read(capture: path, runDirectory: runDirectory)
            if file.truncatedTailBytes > 0 {
                notes.append("the last \(file.truncatedTailBytes) bytes of \(name)'s capture are an incomplete block (still being written, or the switch was killed) and were left out")
            }
            inputs.append(CaptureMerge.Input(switchName: name, file: file))
        }
        if inputs.contains(where: { $0.file.statistics.isEmpty }) {
            notes.append("the captures are still open (no statistics blocks yet): after `l2motion lab down --name \(report.lab)`, `l2motion annotate \(runDirectory)` writes the file again with them")
        }
        let events = MigrationEvents.events(of: report)
        let switches = inputs.map(\.switchName).joined(separator: " and ")
        let merged = CaptureMerge.merge(
            inputs, events: events, application: application,
            comment: "lab \(report.lab): \(switches) in time order, with \(report.vm)'s migration events as comments (l2motion annotate)")
        let path = "\(runDirectory)/\(fileName)"
        do {
            try Data(merged.bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw AnnotateError("cannot write \(path): \(error.localizedDescription)")
        }
        let placements = merged.placements.enumerated().sorted {
            ($0.element.event.wallNanoseconds, $0.offset) < ($1.element.event.wallNanoseconds, $1.offset)
        }.map(\.element)
        return RunAnnotation(path: path, frames: merged.frames, interfaces: merged.interfaceNames, placements: placements,
                             statistics: merged.statistics, notes: notes)
    }

    /// A capture the report names: at its recorded path, else under the run folder by its file name
    /// (a run folder that was moved or copied). A last block cut short is left out, not an error.
    static func read(capture path: String, runDirectory: String) throws(AnnotateError) -> PcapngFile {
        let moved = "\(runDirectory)/\(path.split(separator: "/").last.map(String.init) ?? path)"
        guard let found = [path, moved].first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw AnnotateError("capture \(path) named by the run's report.json is missing" + (moved == path ? "" : " (not at \(moved) either)"))
        }
        let head = FileHandle(forReadingAtPath: found).flatMap { file in
            defer { try? file.close() }
            return try? file.read(upToCount: 4)
        }
        guard let head else { throw AnnotateError("cannot read capture \(found)") }
        guard PcapngFile.isPcapng(head) else {
            if [[0xD4, 0xC3, 0xB2, 0xA1], [0x4D, 0x3C, 0xB2, 0xA1], [0xA1, 0xB2, 0xC3, 0xD4], [0xA1, 0xB2, 0x3C, 0x4D]].contains(Array(head)) {
                throw AnnotateError("annotate needs pcapng captures; this run used --capture-format pcap (\(found)). Run the demo again without it")
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: found)[.size] as? Int) ?? head.count
            throw AnnotateError("capture \(found) is damaged: it is neither pcapng nor pcap (\(size) bytes)")
        }
        do {
            return try PcapReader.mapPcapng(path: found)
        } catch let error as CaptureFormatError {
            throw AnnotateError("capture \(found) is damaged: \(error.message); `tshark -r \(found)` shows how far it reads")
        } catch {
            throw AnnotateError("cannot read capture \(found): \(error.localizedDescription)")
        }
    }
}
