import Foundation
import L2Control
import L2Edge
import L2Switch
import L2Wire
import Testing

/// `attach=` ports on a real switch process: a veth whose other end sits in a namespace with an
/// address, joined through an AF_PACKET socket, beside TAP ports. Pings, the capture, moves between
/// the kinds, carrier, TCP with offloads, what the switch leaves behind, and bad input.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct AttachPortIntegrationTests {
    /// p1: a TAP into namespace a (10.97.0.1); p2: veth `att` in namespace c attached, its peer eth0 in
    /// namespace b (10.97.0.2); p3: a TAP into namespace d (10.97.0.3).
    struct Lab {
        let sandbox: Sandbox
        let a, b, c, d: String
        let captureDirectory: String
        let socket: String

        func ping(from namespace: String, to address: String, count: Int = 3) -> Bool {
            CommandRunner.succeeds(["ip", "netns", "exec", namespace, "ping", "-c", String(count), "-i", "0.05", "-W", "1", address])
        }

        func mac(of namespace: String) throws -> MACAddress {
            let text = try CommandRunner.run(["ip", "-n", namespace, "-br", "link", "show", "eth0"])
            return try #require(MACAddress(String(text.split(separator: " ", omittingEmptySubsequences: true)[2])))
        }

        func link(_ interface: String, in namespace: String) -> String {
            (try? CommandRunner.run(["ip", "-n", namespace, "-d", "link", "show", "dev", interface])) ?? ""
        }

        func capture() throws -> [CapturedFrame] {
            _ = try ControlClient.call(socket, SwitchCall.captureFlush)
            return try PcapReader.readAll(path: "\(captureDirectory)/sw.pcapng")
        }
    }

    static func startLab(_ sandbox: Sandbox, attachUp: Bool = false) throws -> (Lab, ChildProcess) {
        let (a, b, c, d) = (try sandbox.namespace("a"), try sandbox.namespace("b"), try sandbox.namespace("c"), try sandbox.namespace("d"))
        try CommandRunner.run(["ip", "-n", b, "link", "add", "eth0", "type", "veth", "peer", "name", "att", "netns", c])
        try CommandRunner.run(["ip", "-n", b, "addr", "add", "10.97.0.2/24", "dev", "eth0"])
        try CommandRunner.run(["ip", "-n", b, "link", "set", "eth0", "up"])
        if attachUp { try CommandRunner.run(["ip", "-n", c, "link", "set", "att", "up"]) }
        let captureDirectory = sandbox.directory + "/captures"
        let process = try sandbox.l2motion(["switch", "sw", "--lab", sandbox.prefix, "--capture-dir", captureDirectory,
                                            "--port", "name=p1,netns=\(a),ifname=eth0,addr=10.97.0.1/24",
                                            "--port", "name=p2,attach=att,netns=\(c)",
                                            "--port", "name=p3,netns=\(d),ifname=eth0,addr=10.97.0.3/24"], log: "switch")
        let socket = "/run/l2motion/\(sandbox.prefix)/switch-sw.sock"
        try #require(sandbox.waitUntil { (try? ControlClient.call(socket, SwitchCall.status)) != nil },
                     "switch did not come up: \(sandbox.logText("switch"))")
        return (Lab(sandbox: sandbox, a: a, b: b, c: c, d: d, captureDirectory: captureDirectory, socket: socket), process)
    }

    @Test("an attached veth pings a TAP port; the table, the capture and the status agree; the interface is left as found")
    func pingThroughAttachedVeth() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let (lab, process) = try Self.startLab(sandbox)
        #expect(lab.ping(from: lab.a, to: "10.97.0.2"), "a (TAP) reaches b through the attached veth")
        #expect(lab.ping(from: lab.b, to: "10.97.0.3"), "b reaches d (TAP)")
        let macB = try lab.mac(of: lab.b)
        let table: [MACTableEntrySnapshot] = try ControlClient.call(lab.socket, SwitchCall.macTable)
        #expect(table.first { $0.mac == macB }?.portName == "p2", "b's MAC is learned on the attached port")
        // The kernel sets the operational state (IFF_RUNNING) through its link watcher, which may
        // lag the first frames by up to a second on a busy machine.
        #expect(sandbox.waitUntil(seconds: 5) {
            (try? ControlClient.call(lab.socket, SwitchCall.status))?.endpoints?[1] == PortEndpointState(port: "p2", kind: "attach", state: "attached")
        }, "the attached port reports its carrier: \(String(describing: try? ControlClient.call(lab.socket, SwitchCall.status).endpoints))")
        let status = try ControlClient.call(lab.socket, SwitchCall.status)
        #expect(status.ports[1].endpoint == .attach)
        let frames = try lab.capture()
        #expect(frames.contains { $0.interface == "p2" && Array($0.bytes[6..<12]) == macB.bytes }, "the capture holds b's frames on p2")
        let attached = lab.link("att", in: lab.c)
        #expect(attached.contains("promiscuity 1"), "the switch's socket holds the interface promiscuous: \(attached)")
        #expect(attached.contains("state UP"), "the switch brought the interface up")

        process.terminate()
        let after = lab.link("att", in: lab.c)
        #expect(after.contains("promiscuity 0"), "promiscuity restored when the switch stops: \(after)")
        #expect(!after.contains("state UP") && !after.contains(",UP"), "left down, as it was found: \(after)")
        #expect(!FileManager.default.fileExists(atPath: "\(InterfaceClaim.directory)/\(lab.c)--att.lock"), "the claim is released")
        // Other suites may hold claims at the same time: the folder exists only while one is in it.
        let remaining = (try? FileManager.default.contentsOfDirectory(atPath: InterfaceClaim.directory)) ?? []
        #expect(FileManager.default.fileExists(atPath: InterfaceClaim.directory) == !remaining.isEmpty,
                "the claims folder goes with the last claim (left: \(remaining))")
    }

    @Test("a move between an attached port and a TAP port is learned on the first frame, both ways")
    func movesBetweenKinds() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let (lab, _) = try Self.startLab(sandbox)
        #expect(lab.ping(from: lab.b, to: "10.97.0.1", count: 1))
        let macB = try lab.mac(of: lab.b)
        // d takes b's MAC: attached port -> TAP port.
        try CommandRunner.run(["ip", "-n", lab.b, "link", "set", "eth0", "down"])
        try CommandRunner.run(["ip", "-n", lab.d, "link", "set", "eth0", "address", macB.description])
        _ = lab.ping(from: lab.d, to: "10.97.0.1", count: 1)
        // b takes it back: TAP port -> attached port.
        try CommandRunner.run(["ip", "-n", lab.d, "link", "set", "eth0", "down"])
        try CommandRunner.run(["ip", "-n", lab.b, "link", "set", "eth0", "up"])
        #expect(lab.sandbox.waitUntil { lab.ping(from: lab.b, to: "10.97.0.1", count: 1) })
        let events = try ControlClient.call(lab.socket, SwitchCall.events()).events.filter { $0.kind == .moved && $0.mac == macB }
        #expect(events.map { "\($0.oldPortName ?? "-")>\($0.newPortName)" }.prefix(2) == ["p2>p3", "p3>p2"])
        let frames = try lab.capture()
        func fromB(_ frame: CapturedFrame) -> Bool { frame.bytes.count >= 12 && Array(frame.bytes[6..<12]) == macB.bytes }
        for event in events.prefix(2) {
            let moved = frames.first { $0.number == event.frameNumber }
            #expect(moved.map(fromB) == true && moved?.interface == event.newPortName, "the event names b's frame on \(event.newPortName)")
            let lastOnOld = frames.last { $0.interface == event.oldPortName && fromB($0) && $0.number < event.frameNumber }?.number ?? 0
            let firstOnNew = frames.first { $0.interface == event.newPortName && fromB($0) && $0.number > lastOnOld }?.number
            #expect(firstOnNew == event.frameNumber, "the move is on b's first frame on \(event.newPortName)")
        }
    }

    @Test("port down takes the attached interface's carrier away from its peer; up gives it back; TCP crosses with offloads")
    func carrierAndTCP() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let (lab, _) = try Self.startLab(sandbox, attachUp: true)
        #expect(lab.ping(from: lab.a, to: "10.97.0.2", count: 1))
        _ = try sandbox.run(["port", "sw", "p2", "down", "--lab", sandbox.prefix])
        #expect(lab.sandbox.waitUntil { lab.link("eth0", in: lab.b).contains("NO-CARRIER") }, "b's veth sees no carrier")
        #expect(!lab.ping(from: lab.a, to: "10.97.0.2", count: 1))
        _ = try sandbox.run(["port", "sw", "p2", "up", "--lab", sandbox.prefix])
        #expect(lab.sandbox.waitUntil { !lab.link("eth0", in: lab.b).contains("NO-CARRIER") })
        #expect(lab.sandbox.waitUntil(seconds: 10) { lab.ping(from: lab.a, to: "10.97.0.2", count: 1) })

        let server = try sandbox.spawn(["ip", "netns", "exec", lab.b, "iperf3", "-s", "-1", "-p", "5201"], log: "iperf3-server")
        #expect(sandbox.waitUntil { (try? CommandRunner.run(["ip", "netns", "exec", lab.b, "ss", "-ltn"]))?.contains(":5201 ") == true })
        let sent = try CommandRunner.run(["ip", "netns", "exec", lab.a, "iperf3", "-c", "10.97.0.2", "-p", "5201", "-n", "32M", "-J", "-R"])
        #expect(sent.contains("\"sum_received\""), "the TCP transfer from the attached side completed: \(sent.prefix(300))")
        _ = server.wait(seconds: 10)
        let frames = try lab.capture()
        #expect(frames.contains { $0.interface == "p2" && $0.originalLength > 1514 }, "the veth's super-frames crossed whole (PACKET_VNET_HDR)")
        let counters = try ControlClient.call(lab.socket, SwitchCall.counters)
        #expect(counters.allSatisfy { $0.rxDrops.badOffload == 0 }, "no offload metadata was refused")
        let malformed = try CommandRunner.run(["tshark", "-r", "\(lab.captureDirectory)/sw.pcapng", "-d", "tcp.port==5201,data",
                                               "-Y", "_ws.malformed || _ws.expert.severity >= error", "-T", "fields", "-e", "frame.number"])
        #expect(malformed.isEmpty, "tshark finds no malformed frames: \(malformed.prefix(200))")
    }

    @Test("an interface that does not exist, sits in a missing namespace, is a bridge's port or another switch's is refused")
    func refusals() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let x = try sandbox.namespace("x")
        func refused(_ ports: [String], _ expected: String) {
            do {
                _ = try sandbox.run(["switch", "sw2", "--lab", sandbox.prefix, "--capture-dir", sandbox.directory] + ports.flatMap { ["--port", $0] })
                Issue.record("accepted \(ports)")
            } catch let error as CommandError {
                #expect(error.standardError.contains(expected), "message was: \(error.standardError)")
            } catch {
                Issue.record("\(error)")
            }
        }
        refused(["name=p1,attach=nothere,netns=\(x)"], "there is no interface nothere in namespace \(x)")
        refused(["name=p1,attach=eth0,netns=\(sandbox.prefix)-missing"], "does not exist")
        try CommandRunner.run(["ip", "-n", x, "link", "add", "br0", "type", "bridge"])
        try CommandRunner.run(["ip", "-n", x, "link", "add", "v0", "type", "veth", "peer", "name", "v1"])
        try CommandRunner.run(["ip", "-n", x, "link", "set", "v0", "master", "br0"])
        refused(["name=p1,attach=v0,netns=\(x)"], "already a port of br0")
        // A TAP port refused after the attach: nothing made survives (the claim is gone too).
        refused(["name=p1,attach=v1,netns=\(x)", "name=p2,netns=\(sandbox.prefix)-missing,ifname=eth0"], "does not exist")
        #expect(!FileManager.default.fileExists(atPath: "\(InterfaceClaim.directory)/\(x)--v1.lock"))
        // Another switch holds v1: the second is told who.
        let first = try sandbox.l2motion(["switch", "sw1", "--lab", sandbox.prefix, "--capture-dir", sandbox.directory + "/c1",
                                          "--port", "name=p1,attach=v1,netns=\(x)"], log: "sw1")
        #expect(sandbox.waitUntil { (try? ControlClient.call("/run/l2motion/\(sandbox.prefix)/switch-sw1.sock", SwitchCall.status)) != nil })
        refused(["name=p1,attach=v1,netns=\(x)"], "already a port of another l2motion switch (pid \(first.pid))")
    }
}
