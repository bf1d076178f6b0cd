import Foundation
import L2Capture
import L2Control
import L2Edge
import L2Lab
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Live capture from a running lab, read by the real clients: `l2motion capture | tshark -i -`
/// during a migration, and tshark through the extcap interface.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct LiveCaptureIntegrationTests {
    static func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    static func lines(_ path: String) -> [String] { text(path).split(separator: "\n").map(String.init) }

    @Test("tshark -i - reads l2motion capture live during a migration and sees the RARPs with their comments; a reader killed mid-stream leaves the switch forwarding")
    func tsharkReadsLive() throws {
        try RootEnvironment.require()
        let lab = try TestLab(yaml: { TestLab.yaml(name: $0, memory: 64, touched: 8) })
        defer { lab.tearDown() }
        let directory = lab.sandbox.directory
        let fifo = directory + "/live.fifo", seen = directory + "/live.txt"
        guard mkfifo(fifo, 0o600) == 0 else { throw SystemError("mkfifo", fifo) }
        // Two processes of ours, each ended by its PID: the capture writing into the fifo, tshark reading it.
        // tshark keeps a live capture in a temporary file: TMPDIR puts it in the sandbox, removed with it.
        let tshark = try lab.sandbox.spawn(["sh", "-c", "exec env TMPDIR='\(directory)' tshark -l -i - -Y 'arp.opcode == 3' -T fields -e frame.interface_name "
                                                + "-e frame.packet_flags_direction -e frame.comment < '\(fifo)' > '\(seen)'"], log: "tshark")
        let capture = try lab.sandbox.spawn(["sh", "-c", "exec '\(RootEnvironment.binary)' capture pswitch --lab \(lab.name) > '\(fifo)'"],
                                            log: "capture")
        // The stream is open once the switch logged the reader; the migration starts after it.
        let switchLog = lab.folder.log("switch-pswitch")
        #expect(lab.sandbox.waitUntil(seconds: 10) { Self.text(switchLog).contains("live capture reader attached") })
        _ = try lab.run(["migrate", "web01", "--to", "esx02"])
        #expect(lab.sandbox.waitUntil(seconds: 10) { Self.lines(seen).count >= 5 }, "tshark saw the RARPs live: \(Self.lines(seen))")
        let rarps = Self.lines(seen).map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        #expect(rarps.count == 5)
        #expect(rarps.allSatisfy { $0.count == 3 && $0[0] == "esx02" && $0[1] == "0x00000001" })
        #expect(rarps.first?[2] == "station move 00:50:56:00:00:10 esx01 → esx02")

        // The reader is killed mid-stream: the switch lets it go and keeps forwarding.
        capture.signal(SIGKILL)
        tshark.signal(SIGKILL)
        _ = capture.wait(seconds: 5)
        _ = tshark.wait(seconds: 5)
        #expect(lab.sandbox.waitUntil(seconds: 10) { Self.text(switchLog).contains("live capture reader left") })
        let ping = try lab.exec("client01", ["ping", "-c", "20", "-i", "0.01", "-W", "1", "10.10.0.10"])
        #expect(ping.contains("20 received"), "the switch forwards after the reader died: \(ping)")
    }

    @Test("tshark lists the lab's switches through the extcap interface and captures from one")
    func extcap() throws {
        try RootEnvironment.require()
        let lab = try TestLab(yaml: { TestLab.yaml(name: $0, memory: 64, touched: 8) })
        defer { lab.tearDown() }
        let configuration = lab.sandbox.directory + "/wireshark"
        let environment = ["env", "WIRESHARK_CONFIG_DIR=\(configuration)"]
        let installed = try CommandRunner.run(environment + [RootEnvironment.binary, "extcap", "--install"])
        #expect(installed.contains("\(configuration)/extcap/l2motion-extcap"))
        let interfaces = try CommandRunner.run(environment + ["tshark", "-D"])
        let name = "l2motion-\(lab.name)-pswitch"
        #expect(interfaces.contains("\(name) (l2motion pswitch (lab \(lab.name)))"), "tshark -D: \(interfaces)")
        #expect(interfaces.contains("l2motion-\(lab.name)-vmotion"))

        // Capture for a few seconds through the extcap while client01 pings web01.
        let file = lab.sandbox.directory + "/extcap.pcapng"
        let tshark = try lab.sandbox.spawn(environment + ["tshark", "-i", name, "-a", "duration:4", "-w", file], log: "tshark-extcap")
        let ping = try lab.exec("client01", ["ping", "-c", "20", "-i", "0.1", "10.10.0.10"])
        #expect(ping.contains("20 received"))
        #expect(tshark.wait(seconds: 15) != nil, "tshark stopped after its duration")
        let echo = try CommandRunner.run(["tshark", "-r", file, "-Y", "icmp.type == 8", "-T", "fields", "-e", "frame.interface_name"])
            .split(separator: "\n").map(String.init)
        #expect(echo.count >= 10 && Set(echo) == ["client01"], "echo requests captured through the extcap, on client01: \(echo.count)")
    }
}
