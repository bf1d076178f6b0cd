import Foundation
import L2Capture
import L2Control
import L2Edge
import L2Wire
import Testing

/// A real switch (three namespaces on TAP ports) and a real `l2motion machine-relay` for the same run
/// folder: what a coordinator on another machine sees through the relay socket.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct RelayIntegrationTests {
    struct Bench {
        let lab: SwitchIntegrationTests.Lab
        let relay: ChildProcess
        let relaySocket: String

        var route: ControlRoute { ControlRoute(socket: relaySocket, relayTarget: "switch-sw") }
    }

    static func start(_ sandbox: Sandbox, switchOptions: [String] = []) throws -> Bench {
        let lab = try SwitchIntegrationTests.startLab(sandbox, options: switchOptions)
        let folder = RunFolder(lab: sandbox.prefix)
        let relay = try sandbox.l2motion(["machine-relay", "--lab", sandbox.prefix], log: "relay")
        let ready = sandbox.waitUntil { FileManager.default.fileExists(atPath: folder.machineSocket) }
        try #require(ready, "the relay did not come up: \(sandbox.logText("relay"))")
        return Bench(lab: lab, relay: relay, relaySocket: folder.machineSocket)
    }

    @Test("status through the relay is the switch's own answer; the relay socket is root-only and goes on SIGTERM")
    func statusThroughTheRelay() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let bench = try Self.start(sandbox)
        let relayed = try ControlClient.call(bench.route, SwitchCall.status)
        let direct = try ControlClient.call(bench.lab.socket, SwitchCall.status)
        #expect(relayed.name == "sw" && relayed.name == direct.name)
        #expect(relayed.pid == direct.pid && relayed.pid == bench.lab.switchProcess.pid)
        #expect(relayed.capture == direct.capture)
        #expect(relayed.ports == direct.ports)
        // The same raw line, byte for byte, for a request whose answer does not move.
        let line = try ControlJSON.encoder.encode(SwitchRequest.ports)
        #expect(try ControlClient.exchange(bench.route, line: line, command: "ports") == ControlClient.exchange(bench.lab.socket, line: line, command: "ports"))

        var info = stat()
        try #require(stat(bench.relaySocket, &info) == 0)
        #expect(info.st_mode & 0o7777 == 0o600, "the relay socket is root-only")
        bench.relay.signal(SIGTERM)
        #expect(bench.relay.wait(seconds: 5) == 0, "the relay exits cleanly on SIGTERM: \(sandbox.logText("relay"))")
        #expect(!FileManager.default.fileExists(atPath: bench.relaySocket), "and removes its socket")
        #expect(try ControlClient.call(bench.lab.socket, SwitchCall.status).pid == direct.pid, "the switch runs on")
    }

    @Test("a target with nothing behind it and an invalid target get one error reply listing what the relay reaches")
    func refusals() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let bench = try Self.start(sandbox)
        let lab = sandbox.prefix
        let absent = #expect(throws: ControlError.self) {
            try ControlClient.call(ControlRoute(socket: bench.relaySocket, relayTarget: "host-esx09"), HostCall.hostInfo)
        }
        #expect(absent == ControlError(.unreachable, "no daemon host-esx09 behind the relay of lab \(lab); it relays switch-sw"))
        let invalid = #expect(throws: ControlError.self) {
            try ControlClient.call(ControlRoute(socket: bench.relaySocket, relayTarget: "host-../x"), HostCall.hostInfo)
        }
        #expect(invalid?.code == .badRequest)
        #expect(invalid?.message == "relay of lab \(lab): relay target \"host-../x\" is not a daemon name: the daemon's name may hold only ASCII letters, digits, - and _ (host-NAME or switch-NAME); it relays switch-sw")
        // The relay goes on serving.
        #expect(try ControlClient.call(bench.route, SwitchCall.status).name == "sw")
    }

    @Test("capture-frames through the relay answers the frames PcapReader finds in the file, numbered alike",
          arguments: [["--capture-format", "pcapng"], ["--capture-format", "pcapng", "--egress-records"], ["--capture-format", "pcap"]])
    func captureFrames(format: [String]) throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let bench = try Self.start(sandbox, switchOptions: format)
        #expect(bench.lab.ping(from: 0, to: "10.99.0.2", count: 2))
        #expect(bench.lab.ping(from: 2, to: "10.99.0.1", count: 2))

        let refs = try ControlClient.call(bench.route, SwitchCall.captureFrames(filter: "arp"))
        let path = try ControlClient.call(bench.route, SwitchCall.status).capture
        let direct = try PcapReader.readAll(path: path, filter: "arp")
        #expect(refs.count >= 4, "two ARP requests and two replies: \(refs)")
        // The file may have grown since (a late ARP): what was answered is its beginning.
        #expect(refs == Array(direct.prefix(refs.count)).map { CapturedFrameRef(number: $0.number, wallNanoseconds: $0.wallNanoseconds) })
        let all = try PcapReader.readAll(path: path)
        for ref in refs {
            let frame = try #require(all.first { $0.number == ref.number }, "frame \(ref.number) is in the file")
            #expect(try EthernetFrame(frame.bytes[...]).etherType == .arp, "frame \(ref.number) is ARP")
            #expect(frame.wallNanoseconds == ref.wallNanoseconds)
        }
        let icmp = try ControlClient.call(bench.route, SwitchCall.captureFrames(filter: "icmp"))
        #expect(icmp.count == 8, "four echo requests and four replies: \(icmp)")
        #expect(Set(icmp.map(\.number)).isDisjoint(with: refs.map(\.number)))

        // Since a frame's time: that frame and the later ones.
        let third = refs[2]
        let later = try ControlClient.call(bench.route, SwitchCall.captureFrames(filter: "arp", sinceWallNanoseconds: third.wallNanoseconds))
        let expected = refs.filter { $0.wallNanoseconds >= third.wallNanoseconds }
        #expect(later.first == third)
        #expect(Array(later.prefix(expected.count)) == expected, "the answered frames from the third on (and any later ARP)")
        #expect(try ControlClient.call(bench.route, SwitchCall.captureFrames(filter: "arp", sinceWallNanoseconds: UInt64.max)).isEmpty)
        // No filter: every frame the switch received, numbered as Wireshark numbers the file's frames
        // (its outbound copies, with --egress-records, take numbers but are not answered).
        let everything = try ControlClient.call(bench.route, SwitchCall.captureFrames(filter: ""))
        let file = try PcapReader.readAll(path: path)
        #expect(everything == Array(file.prefix(everything.count)).map { CapturedFrameRef(number: $0.number, wallNanoseconds: $0.wallNanoseconds) })
        if format.contains("--egress-records") {
            #expect(everything.count > 1 && everything.last!.number > UInt64(everything.count), "outbound copies between them: \(everything.map(\.number))")
        } else {
            #expect(everything.map(\.number) == Array(1...UInt64(everything.count)), "frames numbered 1... without gaps")
        }
    }

    @Test("a filter libpcap refuses is an invalid argument naming the filter and libpcap's reason")
    func badFilter() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let bench = try Self.start(sandbox)
        let error = #expect(throws: ControlError.self) {
            try ControlClient.call(bench.route, SwitchCall.captureFrames(filter: "arp and and"))
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.hasPrefix("capture-frames: capture filter \"arp and and\" is invalid: ") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("syntax error") == true, "libpcap's reason: \(error?.message ?? "")")
    }

    @Test("capture-stream through the relay delivers pcapng: the section header, then live records")
    func captureStream() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let bench = try Self.start(sandbox)
        let stream = try ControlClient.openStream(bench.route, SwitchCall.captureStream())
        #expect(stream.reply == CaptureStreamStart(format: "pcapng", interfaces: ["p1", "p2", "p3"], port: nil))
        var bytes = stream.firstBytes
        UnixSocket.setReceiveTimeout(stream.connection, seconds: 10)
        var chunk = [UInt8](repeating: 0, count: 65536)
        func readMore() throws -> Bool {
            guard let count = try chunk.withUnsafeMutableBytes({ try stream.connection.read(into: $0) }), count > 0 else { return false }
            bytes += chunk[0..<count]
            return true
        }
        while bytes.count < 12, try readMore() {}
        try #require(bytes.count >= 12, "the stream's first bytes arrived")
        func u32(_ offset: Int) -> UInt32 { bytes[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        #expect(u32(0) == PcapngBlocks.sectionHeaderType)
        #expect(u32(8) == PcapngBlocks.byteOrderMagic)
        // A ping's frames arrive as enhanced packet blocks through the relay.
        #expect(bench.lab.ping(from: 0, to: "10.99.0.2", count: 1))
        var seenPacket = false
        while !seenPacket, try readMore() {
            var offset = 0
            while offset + 8 <= bytes.count {
                let length = Int(u32(offset + 4))
                guard length >= 12 else { break }
                if u32(offset) == PcapngBlocks.enhancedPacketType { seenPacket = true }
                offset += length
            }
        }
        #expect(seenPacket, "a packet block came through the relay")
        stream.connection.close()
        // The switch and the relay serve on after the reader left.
        #expect(try ControlClient.call(bench.route, SwitchCall.status).name == "sw")
    }
}
