import Foundation
import L2Control
import L2Edge
import L2Lab
import Testing

/// The project's Wireshark dissector (`dissectors/l2motion.lua`) on real migrations: a demo whose
/// vMotion capture keeps whole frames, read back with `tshark -X lua_script:… -d tcp.port==8000,l2motion`.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct DissectorIntegrationTests {
    static let dissector = RootEnvironment.packageRoot + "/dissectors/l2motion.lua"

    /// What every completed migration sends in clear: hello, spec, spec-accepted, page batches,
    /// round ends, switchover, verified, resumed and commit. Forwarded frames come only when a frame
    /// for the VM reaches the source after the switchover.
    static let completedTypes: Set<String> = ["1", "2", "3", "5", "6", "7", "8", "10", "12", "14", "15"]
    static let forwardedFrame = "11"

    @Test("the Lua dissector names every record type of a cleartext migration, adds up its pages and finds no malformed record")
    func cleartextMigration() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let report = try Self.demo(in: sandbox, encryption: "disabled")
        #expect(report.migration.result.encryption?.rawValue == "none")
        let vmotion = report.captures.vmotion
        #expect(try Self.problemFrames(vmotion).isEmpty, "no malformed frame or error in \(vmotion)")

        let fields = ["l2motion.type", "l2motion.direction", "l2motion.seq", "l2motion.batch.round", "l2motion.batch.pages",
                      "l2motion.batch.zero_pages", "l2motion.round_end.round", "l2motion.round_end.pages"]
        let rows = try Self.dissect(vmotion, filter: "l2motion", fields: fields)
        let types = Set(rows.flatMap { $0[0] })
        #expect(Self.completedTypes.isSubset(of: types), "types in the stream: \(types.sorted())")
        #expect(types.isSubset(of: Self.completedTypes.union([Self.forwardedFrame])),
                "no rejection, failure, abort or unknown type: \(types.sorted())")

        // Each direction's messages are numbered 1, 2, 3, … with none missing (all reassembled).
        var sequences: [String: [Int]] = [:]
        for row in rows { for (direction, number) in zip(row[1], row[2]) { sequences[direction, default: []].append(Int(number) ?? 0) } }
        #expect(Set(sequences.keys) == ["source → destination", "destination → source"])
        for (direction, numbers) in sequences { #expect(numbers == Array(1...numbers.count), "\(direction)") }

        // The pages of each round's batches are the round's pages in the report and in its round end.
        var pages: [Int: Int] = [:], zeroPages: [Int: Int] = [:], ended: [Int: Int] = [:]
        for row in rows {
            for (round, (count, zero)) in zip(row[3], zip(row[4], row[5])) {
                pages[Int(round) ?? -1, default: 0] += Int(count) ?? 0
                zeroPages[Int(round) ?? -1, default: 0] += Int(zero) ?? 0
            }
            for (round, count) in zip(row[6], row[7]) { ended[Int(round) ?? -1] = Int(count) }
        }
        let rounds = report.migration.result.rounds
        // A round that found no dirty page sends no batch, only its round end.
        #expect(pages.keys.sorted() == rounds.filter { $0.pages > 0 }.map(\.round), "rounds with batches: \(pages.keys.sorted())")
        for stats in rounds {
            #expect(pages[stats.round, default: 0] == stats.pages, "pages of round \(stats.round)")
            #expect(zeroPages[stats.round, default: 0] == stats.zeroPages, "zero pages of round \(stats.round)")
            #expect(ended[stats.round] == stats.pages, "round end \(stats.round)")
        }
        #expect(pages[1] == report.memoryMiB * 1024 * 1024 / 4096, "round 1 sends every page of the VM")
    }

    @Test("with the default encryption the Lua dissector shows the handshake in clear, then only encrypted records, none malformed")
    func encryptedMigration() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let report = try Self.demo(in: sandbox, encryption: nil)
        #expect(report.migration.result.encryption?.rawValue == "aes-256-gcm")
        let vmotion = report.captures.vmotion
        #expect(try Self.problemFrames(vmotion).isEmpty, "no malformed frame or error in \(vmotion)")

        let rows = try Self.dissect(vmotion, filter: "l2motion", fields: [
            "l2motion.type", "l2motion.accept.cipher", "l2motion.encrypted", "l2motion.direction", "l2motion.record.counter",
            "l2motion.record.length"])
        #expect(rows.flatMap { $0[0] } == ["1", "2", "3"], "only hello, spec and spec-accepted in clear")
        #expect(rows.flatMap { $0[1] } == ["1"], "spec-accepted chose AES-256-GCM")
        let encrypted = rows.flatMap { $0[2] }
        #expect(!encrypted.isEmpty && encrypted.allSatisfy { $0 == "1" })
        // Each direction's records carry the implicit nonce counter 0, 1, 2, … (records follow the clear
        // messages in a frame, so a frame's last directions are its records').
        var counters: [String: [Int]] = [:], ciphertext: [String: Int] = [:]
        for row in rows {
            for (direction, (counter, length)) in zip(row[3].suffix(row[4].count), zip(row[4], row[5])) {
                counters[direction, default: []].append(Int(counter) ?? -1)
                ciphertext[direction, default: 0] += Int(length) ?? 0
            }
        }
        #expect(counters.values.map(\.count).reduce(0, +) == encrypted.count)
        let fromSource = counters["source → destination"] ?? [], fromDestination = counters["destination → source"] ?? []
        #expect(ciphertext["source → destination", default: 0] > report.migration.result.ram.normal * 4096,
                "the normal pages went in the source's records")
        #expect(fromDestination.count >= 2, "verified and resumed went in records")
        for numbers in [fromSource, fromDestination] where !numbers.isEmpty { #expect(numbers == Array(0..<numbers.count)) }
    }

    /// Runs `l2motion demo` on a small VM with a vMotion capture of whole frames (snaplen 262144) and
    /// returns its report; the lab is gone when this returns.
    static func demo(in sandbox: Sandbox, encryption: String?) throws -> DemoReport {
        let name = TestLab.uniqueName()
        defer { _ = try? sandbox.run(["lab", "down", "--name", name]) }
        let topology = sandbox.directory + "/topology.yaml"
        try TestLab.yaml(name: name, memory: 64, touched: 8, vmotionSnaplen: 262_144).write(toFile: topology, atomically: true, encoding: .utf8)
        let output = try sandbox.run(["demo", "--name", name, "--topology", topology, "--downtime", "5",
                                      "--captures", sandbox.directory + "/Captures", "--json"]
                                     + (encryption.map { ["--encryption", $0] } ?? []))
        let report = try ControlJSON.decoder.decode(DemoReport.self, from: Data(output.utf8))
        #expect(report.passed, "problems: \(report.problems)")
        #expect(report.migration.result.status.rawValue == "completed")
        return report
    }

    /// tshark with the project's dissector on `file`: one row per frame that `filter` keeps, one column
    /// per field, each column the field's values in that frame (a frame may end several messages).
    static func dissect(_ file: String, filter: String, fields: [String]) throws -> [[[String]]] {
        try CommandRunner.run(["tshark", "-X", "lua_script:" + dissector, "-d", "tcp.port==8000,l2motion", "-r", file,
                               "-Y", filter, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]
                              + fields.flatMap { ["-e", $0] })
            .split(separator: "\n")
            .map { line in
                line.split(separator: "\t", omittingEmptySubsequences: false)
                    .map { $0.split(separator: ",").map(String.init) }
            }
    }

    /// Frames tshark calls malformed, with an expert error, or where the Lua dissector failed.
    static func problemFrames(_ file: String) throws -> [[[String]]] {
        try dissect(file, filter: "_ws.malformed || _ws.expert.severity >= error || _ws.lua.error", fields: ["frame.number"])
    }
}
