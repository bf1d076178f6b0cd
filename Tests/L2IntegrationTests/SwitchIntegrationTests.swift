import Foundation
import L2Control
import L2Edge
import L2Switch
import L2Wire
import Testing

/// A real switch process with three namespaces on TAP ports, driven through its control socket.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct SwitchIntegrationTests {
    struct Lab {
        let sandbox: Sandbox
        let namespaces: [String]
        let captureDirectory: String
        let socket: String
        let switchProcess: ChildProcess

        func mac(of index: Int) throws -> MACAddress {
            let text = try CommandRunner.run(["ip", "-n", namespaces[index], "-br", "link", "show", "eth0"])
            let field = text.split(separator: " ", omittingEmptySubsequences: true)[2]
            return try #require(MACAddress(String(field)))
        }

        func table() throws -> [MACTableEntrySnapshot] {
            try ControlClient.call(socket, SwitchCall.macTable)
        }

        func ping(from index: Int, to address: String, count: Int = 3) -> Bool {
            CommandRunner.succeeds(["ip", "netns", "exec", namespaces[index], "ping", "-c", String(count), "-i", "0.05", "-W", "1", address])
        }

        func capture() throws -> [CapturedFrame] {
            _ = try ControlClient.call(socket, SwitchCall.captureFlush)
            return try PcapReader.readAll(path: "\(captureDirectory)/sw.pcapng")
        }
    }

    static func startLab(_ sandbox: Sandbox, options: [String] = []) throws -> Lab {
        let namespaces = try ["a", "b", "c"].map { try sandbox.namespace($0) }
        let captureDirectory = sandbox.directory + "/captures"
        var arguments = ["switch", "sw", "--lab", sandbox.prefix, "--capture-dir", captureDirectory] + options
        for (index, namespace) in namespaces.enumerated() {
            arguments += ["--port", "name=p\(index + 1),netns=\(namespace),ifname=eth0,addr=10.99.0.\(index + 1)/24"]
        }
        let process = try sandbox.l2motion(arguments, log: "switch")
        let socket = "/run/l2motion/\(sandbox.prefix)/switch-sw.sock"
        let ready = sandbox.waitUntil {
            (try? ControlClient.call(socket, SwitchCall.status)) != nil
        }
        try #require(ready, "switch did not come up: \(sandbox.logText("switch"))")
        return Lab(sandbox: sandbox, namespaces: namespaces, captureDirectory: captureDirectory, socket: socket, switchProcess: process)
    }

    @Test("kernel ping crosses the switch; MAC table, capture and counters agree")
    func pingLearnsAndCaptures() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let lab = try Self.startLab(sandbox)

        #expect(lab.ping(from: 0, to: "10.99.0.2"))

        let table = try lab.table()
        let macA = try lab.mac(of: 0), macB = try lab.mac(of: 1)
        #expect(table.first { $0.mac == macA }?.portName == "p1")
        #expect(table.first { $0.mac == macB }?.portName == "p2")

        let frames = try lab.capture()
        let parsed = frames.compactMap { try? EthernetFrame($0.bytes[...]) }
        #expect(parsed.count == frames.count, "every captured frame parses")
        let arpBroadcasts = parsed.filter { $0.etherType == .arp && $0.destination == .broadcast }
        #expect(arpBroadcasts.contains { $0.source == macA }, "the flooded ARP request is in the capture")
        let icmp = parsed.compactMap { frame -> (MACAddress, UInt8)? in
            guard frame.etherType == .ipv4, let ip = try? IPv4Packet(frame.payload), ip.protocol == .icmp,
                  let type = ip.payload.first else { return nil }
            return (frame.source, type)
        }
        #expect(icmp.filter { $0.0 == macA && $0.1 == 8 }.count == 3, "three echo requests from a")
        #expect(icmp.filter { $0.0 == macB && $0.1 == 0 }.count == 3, "three echo replies from b")

        let counters = try ControlClient.call(lab.socket, SwitchCall.counters)
        for port in counters {
            #expect(port.rxFrames == port.unicastFrames + port.floodedFrames + port.rxDrops.total,
                    "port \(port.name): every received frame is forwarded or counted as dropped")
        }
        #expect(counters.map(\.rxFrames).reduce(0, +) == UInt64(frames.count), "the capture holds each frame once")
    }

    @Test("with offloads TCP crosses as GSO super-frames, without them as MTU-sized frames; UDP checksums arrive complete",
          arguments: [true, false])
    func offloads(enabled: Bool) throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let lab = try Self.startLab(sandbox, options: enabled ? [] : ["--no-offloads"])
        #expect(lab.ping(from: 0, to: "10.99.0.2", count: 1))
        let server = try sandbox.spawn(["ip", "netns", "exec", lab.namespaces[1], "iperf3", "-s", "-1", "-p", "5201"], log: "iperf3-server")
        #expect(sandbox.waitUntil {
            (try? CommandRunner.run(["ip", "netns", "exec", lab.namespaces[1], "ss", "-ltn"]))?.contains(":5201 ") == true
        }, "iperf3 server listening")
        let sent = try CommandRunner.run(["ip", "netns", "exec", lab.namespaces[0], "iperf3", "-c", "10.99.0.2", "-p", "5201",
                                          "-n", "32M", "-J"])
        #expect(sent.contains("\"sum_received\""), "the TCP transfer completed: \(sent.prefix(400))")
        _ = server.wait(seconds: 10)
        // UDP from a to b: the kernel leaves the checksum to the device when offloads are on.
        _ = try CommandRunner.run(["ip", "netns", "exec", lab.namespaces[0], "bash", "-c",
                                   "echo l2motion-checksum > /dev/udp/10.99.0.2/9 || true"])
        let frames = try lab.capture()
        let largest = frames.map(\.originalLength).max() ?? 0
        if enabled {
            #expect(largest > 1514, "super-frames longer than one MTU crossed the switch (largest \(largest))")
        } else {
            #expect(largest <= 1514, "every frame fits the MTU (largest \(largest))")
        }
        let udp = frames.compactMap { captured -> (IPv4Packet, UDPDatagram)? in
            guard let frame = try? EthernetFrame(captured.bytes[...]), frame.etherType == .ipv4,
                  let ip = try? IPv4Packet(frame.payload), ip.protocol == .udp,
                  let datagram = try? UDPDatagram(ip.payload), datagram.destinationPort == 9 else { return nil }
            return (ip, datagram)
        }
        #expect(udp.count == 1, "the UDP datagram is in the capture")
        for (ip, datagram) in udp {
            #expect(datagram.isChecksumValid(source: ip.source, destination: ip.destination),
                    "the captured UDP checksum is complete and correct")
        }
        let malformed = try CommandRunner.run(["tshark", "-r", "\(lab.captureDirectory)/sw.pcapng", "-d", "tcp.port==5201,data",
                                               "-Y", "_ws.malformed || _ws.expert.severity >= error", "-T", "fields", "-e", "frame.number"])
        #expect(malformed.isEmpty, "tshark finds no malformed frames: \(malformed.prefix(200))")
        let counters = try ControlClient.call(lab.socket, SwitchCall.counters)
        #expect(counters.allSatisfy { $0.rxDrops.badOffload == 0 && $0.rxDrops.oversize == 0 })
    }

    @Test("a known MAC seen on another port moves on its first frame, and the event names the capture frame")
    func stationMoveOnFirstFrame() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let lab = try Self.startLab(sandbox)
        #expect(lab.ping(from: 0, to: "10.99.0.2", count: 1))
        let macA = try lab.mac(of: 0)

        // Host c takes a's MAC and sends one frame: the switch must move the entry at once.
        try CommandRunner.run(["ip", "-n", lab.namespaces[0], "link", "set", "eth0", "down"])
        try CommandRunner.run(["ip", "-n", lab.namespaces[2], "link", "set", "eth0", "address", macA.description])
        _ = lab.ping(from: 2, to: "10.99.0.2", count: 1)

        let entry = try #require(try lab.table().first { $0.mac == macA })
        #expect(entry.portName == "p3")
        #expect(entry.moves >= 1)
        let events = try ControlClient.call(lab.socket, SwitchCall.events()).events
        let move = try #require(events.first { $0.kind == .moved && $0.mac == macA })
        #expect(move.oldPortName == "p1" && move.newPortName == "p3")
        let frames = try lab.capture()
        let moved = try #require(frames.first { $0.number == move.frameNumber })
        #expect(Array(moved.bytes[6..<12]) == macA.bytes, "the event's frame number points at the frame that moved the MAC")
        #expect(moved.bytes.count > 14)
    }

    @Test("a port set down stops traffic; set up restores it")
    func portDownAndUp() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let lab = try Self.startLab(sandbox)
        #expect(lab.ping(from: 0, to: "10.99.0.2", count: 1))
        _ = try sandbox.run(["port", "sw", "p2", "down", "--lab", sandbox.prefix])
        #expect(!lab.ping(from: 0, to: "10.99.0.2", count: 2))
        _ = try sandbox.run(["port", "sw", "p2", "up", "--lab", sandbox.prefix])
        #expect(sandbox.waitUntil(seconds: 5) { lab.ping(from: 0, to: "10.99.0.2", count: 1) })
        let counters = try ControlClient.call(lab.socket, SwitchCall.counters)
        #expect(counters.contains { $0.rxDrops.portDown > 0 }, "frames toward the down port were counted as port_down drops")
    }

    @Test("bad command lines are refused before anything is created", arguments: [
        ("ifname=eth0123456789012", "at most 15"),
        ("ifname=eth0,mtu=9001", "out of range"),
        ("ifname=eth0,mtu=9000,addr=10.1.2", "IPv4 address"),
        ("ifname=eth0,vlan=10,trunk=20", "exclude each other"),
        ("ifname=eth0,trunk=10:20,max-macs=1", "port security would stop vMotion on a host's trunk"),
        ("ifname=eth0,vlan=5000", "is not a VLAN id"),
    ])
    func badPortRefused(extra: String, message: String) throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let namespace = try sandbox.namespace("x")
        do {
            _ = try sandbox.run(["switch", "sw", "--lab", sandbox.prefix, "--capture-dir", sandbox.directory,
                                 "--port", "name=p1,netns=\(namespace),\(extra)"])
            Issue.record("the switch accepted a bad port")
        } catch let error as CommandError {
            #expect(error.standardError.contains(message), "message was: \(error.standardError)")
        }
        #expect(!NetworkNamespace.linkExists("eth0", in: namespace))
        #expect(!NetworkNamespace.linkExists("eth0123456789012", in: namespace))
    }

    @Test("a missing namespace or a duplicate port is refused and leaves no TAP behind")
    func missingNamespaceAndDuplicate() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let namespace = try sandbox.namespace("y")
        let missing = "\(sandbox.prefix)-nope"
        #expect(throws: CommandError.self) {
            _ = try sandbox.run(["switch", "sw", "--lab", sandbox.prefix, "--capture-dir", sandbox.directory,
                                 "--port", "name=p1,netns=\(namespace),ifname=eth0",
                                 "--port", "name=p2,netns=\(missing),ifname=eth0"])
        }
        #expect(!NetworkNamespace.linkExists("eth0", in: namespace), "the first port was not created either")
        do {
            _ = try sandbox.run(["switch", "sw", "--lab", sandbox.prefix, "--capture-dir", sandbox.directory,
                                 "--port", "name=p1,netns=\(namespace),ifname=eth0",
                                 "--port", "name=p1,netns=\(namespace),ifname=eth1"])
            Issue.record("duplicate port names were accepted")
        } catch let error as CommandError {
            #expect(error.standardError.contains("used twice"))
        }
    }
}
