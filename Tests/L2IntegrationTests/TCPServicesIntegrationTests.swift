import Crypto
import Foundation
import L2Control
import L2Edge
import L2Guest
import L2Lab
import Testing

/// The VM keeps its TCP sessions through a live migration: real clients (curl, ab, redis-cli,
/// redis-benchmark, the TCP probe) in the client namespace talk to web01's services before, during
/// and after `l2motion migrate`, and tshark checks the capture for resets and malformed frames.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct TCPServicesIntegrationTests {
    /// `key: value` lines of the VM's `GET /` page.
    static func page(_ text: String) -> [String: String] {
        Dictionary(text.split(separator: "\n").compactMap { line -> (String, String)? in
            let parts = line.split(separator: ":", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]).trimmingCharacters(in: .whitespaces), String(parts[1]).trimmingCharacters(in: .whitespaces)) : nil
        }, uniquingKeysWith: { first, _ in first })
    }

    /// SHA-256 of the first `count` bytes of `PatternStream`, hex.
    static func patternDigest(_ count: Int) -> String {
        var hash = SHA256()
        var offset = 0
        while offset < count {
            let chunk = min(1 << 20, count - offset)
            hash.update(data: PatternStream.bytes(from: UInt64(offset), count: chunk))
            offset += chunk
        }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    func migrate(_ lab: TestLab, to host: String) throws -> MigrationReport {
        try ControlJSON.decoder.decode(MigrationReport.self, from: Data(try lab.run(["migrate", "web01", "--to", host, "--json"]).utf8))
    }

    @Test("web: curl's page follows the VM, a 200 MB download spanning the move is exact, ab -k and the TCP probe see no failure, no reset in the capture")
    func webSessionsSurvive() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }
        let first = Self.page(try lab.exec("client01", ["curl", "-sS", "--max-time", "10", "http://10.10.0.10/"]))
        #expect(first["host"] == "esx01" && first["vm"] == "web01", "\(first)")
        let counterBefore = try #require(first["requests"].flatMap { Int($0) }, "\(first)")

        // A download paced to span the migration, hashed as it arrives; the TCP probe beside it.
        let size = 200_000_000
        let download = try lab.sandbox.spawn(["ip", "netns", "exec", lab.namespace("client01"), "sh", "-c",
                                              "curl -sS --max-time 120 --limit-rate 40M http://10.10.0.10/bytes/\(size) | sha256sum"], log: "download")
        let probe = try TCPProbeRun(namespace: lab.namespace("client01"), address: "10.10.0.10", intervalMs: 10, downloadBytes: 0,
                                    downloadMiBPerSecond: 0, lab: lab.name, logPath: lab.sandbox.directory + "/probe.log",
                                    executable: RootEnvironment.binary)
        defer { probe.process.terminate(graceSeconds: 1) }
        Thread.sleep(forTimeInterval: 1)
        let report = try migrate(lab, to: "esx02")
        #expect(report.runsOn == "esx02" && report.result.verified, "\(report.outcome)")
        #expect(download.wait(seconds: 60) == 0, "curl's download: \(lab.sandbox.logText("download"))")
        let digest = lab.sandbox.logText("download").split(separator: " ").first.map(String.init)
        #expect(digest == Self.patternDigest(size), "the download that spanned the migration is the pattern, byte for byte")

        let after = Self.page(try lab.exec("client01", ["curl", "-sS", "--max-time", "10", "http://10.10.0.10/"]))
        #expect(after["host"] == "esx02", "the page names the host the VM runs on now: \(after)")
        #expect((after["requests"].flatMap { Int($0) } ?? 0) > counterBefore, "the request counter in guest memory keeps counting: \(after)")
        #expect(after["migrations"].flatMap { Int($0) } == 1, "\(after)")

        // ab -k during the migration back: not one failed request.
        let ab = try lab.sandbox.spawn(["ip", "netns", "exec", lab.namespace("client01"), "ab", "-k", "-q", "-n", "20000", "-c", "4", "-s", "30",
                                        "http://10.10.0.10/"], log: "ab")
        Thread.sleep(forTimeInterval: 0.5)
        let back = try migrate(lab, to: "esx01")
        #expect(back.runsOn == "esx01", "\(back.outcome)")
        #expect(ab.wait(seconds: 90) == 0, "ab: \(lab.sandbox.logText("ab"))")
        let abText = lab.sandbox.logText("ab")
        #expect(abText.contains("Complete requests:      20000") && abText.contains("Failed requests:        0"), "\(abText)")
        #expect(!abText.contains("Non-2xx responses"), "\(abText)")

        var tcp = probe.stop()
        tcp.capture = try TCPCaptureCheck.findings(file: lab.state.capturePath(of: "pswitch"), addresses: ["10.10.0.10"],
                                                   sinceNs: probe.startedAtNs, untilNs: probe.stoppedAtNs)
        #expect(tcp.problems.isEmpty, "\(tcp.problems)")
        #expect((tcp.echo?.received ?? 0) > 100, "\(String(describing: tcp.echo))")
        #expect(tcp.capture?.resets == 0 && tcp.capture?.malformed == 0, "\(String(describing: tcp.capture))")
    }

    @Test("db: redis-cli's values stay across the move, redis-benchmark during a migration has no error")
    func redisSurvives() throws {
        try RootEnvironment.require()
        let lab = try TestLab(yaml: { TestLab.yaml(name: $0, workload: "db") })
        defer { lab.tearDown() }
        func redis(_ arguments: [String]) throws -> String {
            try lab.exec("client01", ["redis-cli", "-h", "10.10.0.10", "--no-raw"] + arguments).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try redis(["PING"]) == "PONG")
        #expect(try redis(["SET", "greeting", "hello from esx01"]) == "OK")
        #expect(try redis(["INCR", "visits"]) == "(integer) 1")
        let bench = try lab.sandbox.spawn(["ip", "netns", "exec", lab.namespace("client01"), "redis-benchmark", "-h", "10.10.0.10",
                                           "-t", "set,get", "-n", "50000", "-c", "8", "-q"], log: "bench")
        Thread.sleep(forTimeInterval: 0.5)
        let report = try migrate(lab, to: "esx02")
        #expect(report.runsOn == "esx02", "\(report.outcome)")
        #expect(bench.wait(seconds: 120) == 0, "redis-benchmark: \(lab.sandbox.logText("bench"))")
        let benchText = lab.sandbox.logText("bench")
        #expect(benchText.contains("SET:") && benchText.contains("GET:") && !benchText.lowercased().contains("error"), "\(benchText)")
        #expect(try redis(["GET", "greeting"]) == "\"hello from esx01\"")
        #expect(try redis(["INCR", "visits"]) == "(integer) 2")
        #expect(try redis(["DBSIZE"]).hasPrefix("(integer) "))
        let resets = try lab.tshark("pswitch", filter: "ip.addr == 10.10.0.10 && tcp.flags.reset == 1 && !(frame.packet_flags_direction == 2)",
                                    fields: ["frame.number"])
        #expect(resets.isEmpty, "no TCP reset from or to the VM: \(resets.count)")
    }
}
