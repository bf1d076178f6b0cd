import ArgumentParser
import Foundation
import L2Capture
import L2Lab

/// `l2motion annotate RUN-DIR`: the run's two captures as one file, with the migration's story.
struct AnnotateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "annotate",
        abstract: "Write RUN-DIR/migration.pcapng: both switches' captures in time order, the migration's events as comments.",
        discussion: """
            RUN-DIR is a demo run's capture folder (Captures/<run>/, holding report.json, pswitch.pcapng and
            vmotion.pcapng). Interfaces are named switch/port (pswitch/esx02, vmotion/esx01); comments mark the
            pre-copy start, each round, the stun, the resume, each RARP, the relearn and the completion. The demo
            writes the file itself; run this after `l2motion lab down` for a run kept with --keep, so the file
            also carries the switches' closing statistics.
            """)

    @Argument(help: "The run's capture folder (it holds report.json).") var runDirectory: String

    func run() throws {
        let annotation: RunAnnotation
        do {
            annotation = try RunAnnotator.annotate(runDirectory: runDirectory)
        } catch {
            throw UserFacingError("annotate: \(error.message)")
        }
        print("wrote \(annotation.path): \(annotation.frames) frames on \(annotation.interfaces.count) interfaces (\(annotation.interfaces.joined(separator: ", "))), \(annotation.statistics) statistics blocks")
        let placed = annotation.placements.filter { $0.frame != nil }
        print("\(placed.count) of \(annotation.placements.count) migration events placed as comments:")
        let first = annotation.placements.first?.event.wallNanoseconds ?? 0
        printTable(["frame", "time", "placed", "event"], annotation.placements.map { placement in
            let offset = Double(Int64(bitPattern: placement.event.wallNanoseconds &- first)) / 1e6
            return [placement.frame.map(String.init) ?? "-", String(format: "%+.3f ms", offset), Self.words(placement.method),
                    placement.event.text]
        })
        for note in annotation.notes { print("note: \(note)") }
    }

    static func words(_ method: EventPlacement.Method) -> String {
        switch method {
        case .anchored: "on its frame"
        case .byTime: "next frame"
        case .anchorMissing: "next frame (its own is not in the capture)"
        case .unplaced: "nowhere (no frames)"
        }
    }
}
