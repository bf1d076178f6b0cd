import Foundation
import L2Control
import L2Edge
import L2Switch
import L2Wire
import Testing

/// Bad frames and a MAC flood from one namespace (`l2motion frame-gen`) against a real switch process,
/// while two other namespaces ping each other: the ping loses nothing, the switch keeps running, its
/// counters account for every frame, and the MAC table stays bounded and fair.
///
/// Sizes: `L2MOTION_BAD_FRAMES` (default 20000, at `L2MOTION_BAD_RATE` frames per second, default 4000) and `L2MOTION_FLOOD_FRAMES` (default 200000; the
/// issue's 1,000,000 is a manual run: `L2MOTION_FLOOD_FRAMES=1000000`), at `L2MOTION_FLOOD_RATE`
/// frames per second (default 50000).
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct FloodIntegrationTests {
    static var badFrames: Int { Int(ProcessInfo.processInfo.environment["L2MOTION_BAD_FRAMES"] ?? "") ?? 20_000 }
    static var badRate: Int { Int(ProcessInfo.processInfo.environment["L2MOTION_BAD_RATE"] ?? "") ?? 4_000 }
    static var floodFrames: Int { Int(ProcessInfo.processInfo.environment["L2MOTION_FLOOD_FRAMES"] ?? "") ?? 200_000 }
    /// Frames per second of the flood: about what a debug-built switch forwards (each frame is
    /// flooded to two ports), so the flood lasts as long as the ping and few frames die in the TAP's queue.
    static var floodRate: Int { Int(ProcessInfo.processInfo.environment["L2MOTION_FLOOD_RATE"] ?? "") ?? 50_000 }

    /// Ping's own summary: `200 packets transmitted, 200 received`.
    struct PingSummary: CustomStringConvertible {
        let transmitted: Int
        let received: Int

        init?(_ text: String) {
            guard let line = text.split(separator: "\n").first(where: { $0.contains("packets transmitted") }) else { return nil }
            let numbers = line.split(separator: ",").compactMap { $0.split(separator: " ").first.flatMap { Int($0) } }
            guard numbers.count >= 2 else { return nil }
            transmitted = numbers[0]
            received = numbers[1]
        }

        var description: String { "\(transmitted) transmitted, \(received) received" }
    }

    typealias Lab = SwitchIntegrationTests.Lab

    /// The switch suite's lab (three namespaces on one switch), capturing headers only.
    static func startLab(_ sandbox: Sandbox, capacity: Int? = nil) throws -> Lab {
        try SwitchIntegrationTests.startLab(sandbox, options: ["--snaplen", "128"] + (capacity.map { ["--capacity", String($0)] } ?? []))
    }

    /// Runs `generator` (frame-gen in namespace a) with a ping b → c of `pings` started once the
    /// switch has seen the generator's first frames; returns the generator's report and ping's summary.
    static func underPing(_ lab: Lab, pings: Int, generator arguments: [String])
        throws -> (report: FrameGenerator.Report, ping: PingSummary)
    {
        // ARP between b and c resolved first, so the measured ping needs nothing but forwarding.
        _ = try CommandRunner.run(inNamespace: lab.namespaces[1], ["ping", "-c", "1", "-W", "2", "10.99.0.3"])
        let before = try #require(try lab.counters().first { $0.name == "p1" }).rxFrames
        let generator = try lab.frameGen(from: 0, arguments, log: "frame-gen")
        defer { generator.terminate() }
        #expect(lab.sandbox.waitUntil(seconds: 30) {
            ((try? lab.counters().first { $0.name == "p1" })?.rxFrames ?? 0) > before + 100
        }, "the switch sees the generator's frames")
        let ping = try lab.ping(from: 1, to: "10.99.0.3", count: pings, log: "ping")
        defer { ping.terminate() }
        ping.wait()
        let generatorRan = generator.isRunning
        #expect(generator.wait() == 0, "frame-gen exits 0: \(lab.sandbox.logText("frame-gen"))")
        let summary = try #require(PingSummary(lab.sandbox.logText("ping")), "ping printed no summary: \(lab.sandbox.logText("ping"))")
        let report = try lab.frameGenReport(log: "frame-gen")
        print("frame-gen: \(report.summary)")
        print("ping b → c: \(summary)\(generatorRan ? "" : " (the generator finished before the ping did)")")
        return (report, summary)
    }

    @Test("bad frames at rate: the ping loses nothing, the switch runs on, every frame is counted under its reason")
    func badFrames() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let lab = try Self.startLab(sandbox)
        // Let a's kernel send frames over the switch port's MTU 1500, so oversize frames reach the switch.
        try CommandRunner.run(["ip", "-n", lab.namespaces[0], "link", "set", "eth0", "mtu", "9000"])

        let (report, ping) = try Self.underPing(lab, pings: 200, generator: [
            "--kind", "bad", "--count", String(Self.badFrames), "--rate", String(Self.badRate), "--mtu", "1500", "--seed", "11",
        ])

        #expect(ping.transmitted == 200 && ping.received == 200, "ping b → c lost nothing: \(ping)")
        #expect(lab.switchProcess.isRunning, "the switch is still running: \(sandbox.logText("switch"))")
        #expect(report.sent + report.sendErrors == Self.badFrames)
        for kind in FrameGenerator.Kind.bad where kind != .runt {
            #expect(report[kind].refused == 0, "\(kind): the kernel took every frame")
            #expect(report[kind].sent > 0)
        }

        // Frames the interface dropped before the switch read them never reached it.
        let lost = UInt64(try #require(report.interfaceDropped))
        func expected(_ kinds: FrameGenerator.Kind...) -> UInt64 {
            UInt64(kinds.map { report[$0].sent }.reduce(0, +)).subtractingClamped(lost)
        }
        let delivered = UInt64(report.sent).subtractingClamped(lost)
        var port: PortCountersSnapshot?
        _ = sandbox.waitUntil(seconds: 30) {
            port = (try? lab.counters())?.first { $0.name == "p1" }
            return (port?.rxFrames ?? 0) >= delivered
        }
        let a = try #require(port)
        print("port p1: rx \(a.rxFrames), unicast \(a.unicastFrames), flooded \(a.floodedFrames), drops runt \(a.rxDrops.runt) oversize \(a.rxDrops.oversize) bad_source \(a.rxDrops.badSource) (total \(a.rxDrops.total)); interface dropped \(lost)")
        #expect(a.rxFrames >= delivered, "the switch received every frame the kernel delivered")
        #expect(a.rxFrames == a.unicastFrames + a.floodedFrames + a.rxDrops.total)
        #expect(a.rxDrops.runt >= expected(.runt, .badVLAN), "runts and truncated 802.1Q tags are runt drops")
        #expect(a.rxDrops.oversize >= expected(.oversize))
        #expect(a.rxDrops.badSource >= expected(.multicastSource, .zeroSource))
        for port in try lab.counters() {
            #expect(port.rxFrames == port.unicastFrames + port.floodedFrames + port.rxDrops.total, "port \(port.name)")
        }
        #expect(CommandRunner.succeeds(["ip", "netns", "exec", lab.namespaces[1], "ping", "-c", "1", "-W", "2", "10.99.0.3"]),
                "b still reaches c afterwards")
    }

    @Test("a MAC flood from one port: the table stays within capacity and keeps the other ports' stations",
          arguments: [1024, 8192])
    func macFlood(capacity: Int) throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let lab = try Self.startLab(sandbox, capacity: capacity)
        let macB = try lab.mac(of: 1), macC = try lab.mac(of: 2)

        // Enough pings (nominally 10 ms apart, really about 16) to last as long as the flood.
        let pings = max(200, Self.floodFrames / Self.floodRate * 60)
        let (report, ping) = try Self.underPing(lab, pings: pings, generator: [
            "--kind", "mac-flood", "--count", String(Self.floodFrames), "--rate", String(Self.floodRate),
            "--seed", String(capacity),
        ])

        #expect(ping.transmitted == pings && ping.received == pings, "ping b → c lost nothing: \(ping)")
        #expect(lab.switchProcess.isRunning, "the switch is still running: \(sandbox.logText("switch"))")
        #expect(report[.macFlood].sent == Self.floodFrames && report.sendErrors == 0)

        let lost = UInt64(try #require(report.interfaceDropped))
        let delivered = UInt64(report.sent).subtractingClamped(lost)
        _ = sandbox.waitUntil(seconds: 60) {
            ((try? lab.counters())?.first { $0.name == "p1" }?.rxFrames ?? 0) >= delivered
        }
        let table = try lab.table()
        let byPort = Dictionary(grouping: table, by: \.portName).mapValues(\.count)
        print("capacity \(capacity): \(table.count) entries (p1 \(byPort["p1"] ?? 0), p2 \(byPort["p2"] ?? 0), p3 \(byPort["p3"] ?? 0)); interface dropped \(lost)")
        #expect(table.count <= capacity)
        if delivered >= UInt64(capacity) {
            #expect(table.count == capacity, "the flood filled the table")
        }
        #expect(table.first { $0.mac == macB }?.portName == "p2", "b's MAC survived the flood on its port")
        #expect(table.first { $0.mac == macC }?.portName == "p3", "c's MAC survived the flood on its port")
        #expect(byPort["p2"] == 1 && byPort["p3"] == 1, "b's and c's ports hold only their own MAC")
        #expect(byPort["p1", default: 0] >= table.count - 4, "a's port holds the rest")
        for port in try lab.counters() {
            #expect(port.rxFrames == port.unicastFrames + port.floodedFrames + port.rxDrops.total, "port \(port.name)")
            #expect(port.macCount == byPort[port.name, default: 0])
        }
    }
}

extension UInt64 {
    /// `self - other`, or 0 if `other` is larger.
    fileprivate func subtractingClamped(_ other: UInt64) -> UInt64 { self > other ? self - other : 0 }
}

extension SwitchIntegrationTests.Lab {
    func counters() throws -> [PortCountersSnapshot] {
        try ControlClient.call(socket, SwitchCall.counters)
    }

    /// Starts `l2motion frame-gen … --json` inside namespace `index`, output to log `name`.
    func frameGen(from index: Int, _ arguments: [String], log name: String) throws -> ChildProcess {
        try ChildProcess(["ip", "netns", "exec", namespaces[index], RootEnvironment.binary, "frame-gen",
                          "--interface", "eth0", "--json"] + arguments,
                         logPath: "\(sandbox.directory)/\(name).log")
    }

    /// The generator's JSON report, read from its log (a note it printed may come first).
    func frameGenReport(log name: String) throws -> FrameGenerator.Report {
        let text = sandbox.logText(name)
        let start = try #require(text.range(of: "\n{") ?? (text.hasPrefix("{") ? text.startIndex..<text.startIndex : nil),
                                 "no JSON report in the frame-gen log: \(text)")
        return try JSONDecoder().decode(FrameGenerator.Report.self, from: Data(text[start.lowerBound...].utf8))
    }

    /// Starts the kernel's ping from namespace `index` every 10 ms, output to log `name`.
    func ping(from index: Int, to address: String, count: Int, log name: String) throws -> ChildProcess {
        try ChildProcess(["ip", "netns", "exec", namespaces[index], "ping", "-n", "-i", "0.01", "-c", String(count),
                          "-W", "2", address], logPath: "\(sandbox.directory)/\(name).log")
    }
}
