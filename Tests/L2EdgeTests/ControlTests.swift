import Foundation
import L2Control
import L2Edge
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A test daemon's requests: `echo` answers its fields, `act` only acts, `wait` takes a validated
/// number the way the real daemons' arguments are checked on decoding.
enum EchoRequest: ControlRequestKind, Equatable {
    case echo(fields: [String: String])
    case act
    case wait(downtimeMs: Double)

    enum CodingKeys: String, CodingKey, CaseIterable { case echo, act, wait }
    enum WaitCodingKeys: String, CodingKey { case downtimeMs = "downtime-ms" }

    static let daemon = "echo daemon"
    static var commands: [String] { CodingKeys.allCases.map(\.rawValue) }
    var command: String {
        switch self {
        case .echo: "echo"
        case .act: "act"
        case .wait: "wait"
        }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if container.contains(.echo) {
            let fields = try container.nestedContainer(keyedBy: AnyKey.self, forKey: .echo)
            self = .echo(fields: try fields.decode([String: String].self, forKey: AnyKey("fields")))
        } else if container.contains(.wait) {
            let fields = try container.nestedContainer(keyedBy: WaitCodingKeys.self, forKey: .wait)
            self = .wait(downtimeMs: try Limits.downtime.check(try fields.decode(Double.self, forKey: .downtimeMs)))
        } else {
            self = .act
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ value: String) { stringValue = value }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

enum EchoCall {
    static func echo(_ fields: [String: String]) -> ControlCall<EchoRequest, [String: String]> { .init(.echo(fields: fields)) }
    static let act = ControlCall<EchoRequest, Nothing>(.act)
}

/// A control server on a socket in a fresh directory, answering `echo` with its fields.
func withControlServer<T>(_ body: (String) throws -> T) throws -> T {
    try withTemporaryDirectory { directory throws in
        let path = "\(directory)/switch-pswitch.sock"
        let server = try ControlServer<EchoRequest>(path: path) { request in
            switch request {
            case let .echo(fields): .result(fields)
            case .act, .wait: .done
            }
        }
        server.start()
        defer { server.stop() }
        return try body(path)
    }
}

/// Connects to `path`, sends `bytes` and returns what the server sends back until it closes or
/// `lines` whole lines have arrived.
func exchange(_ path: String, _ bytes: [UInt8], lines: Int = 1) throws -> String {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    try #require(fd >= 0)
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: path.utf8)
        raw[path.utf8.count] = 0
    }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    try #require(connected == 0, "connect: \(String(cString: strerror(errno)))")
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    try #require(sent == bytes.count)
    var reply = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 4096)
    while reply.count(where: { $0 == UInt8(ascii: "\n") }) < lines {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { break }
        reply += chunk[0..<count]
    }
    return String(decoding: reply, as: UTF8.self)
}

@Suite("ControlServer and ControlClient over a Unix socket")
struct ControlSocketTests {
    @Test func requestAndReplyRoundTrip() throws {
        try withControlServer { path throws in
            let result = try ControlClient.call(path, EchoCall.echo(["mac": "00:50:56:00:00:10", "port": "p2"]))
            #expect(result == ["mac": "00:50:56:00:00:10", "port": "p2"])
            _ = try ControlClient.call(path, EchoCall.act)
        }
    }

    @Test func socketFileIsModeOwnerOnly() throws {
        try withControlServer { path throws in
            var info = stat()
            try #require(stat(path, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
            #expect(info.st_mode & 0o7777 == 0o600)
        }
    }

    @Test func malformedLineGetsAnErrorAndTheServerKeepsServing() throws {
        try withControlServer { path throws in
            let reply = try exchange(path, Array("this is not json\n".utf8))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any])
            #expect(object["ok"] as? Bool == false)
            #expect(object["code"] as? String == "bad-request")
            #expect((object["error"] as? String)?.hasPrefix("malformed request: expected one JSON object like {\"echo\":{}}") == true)
            #expect(reply.hasSuffix("}\n"))
            // The same connection and the next one are still answered.
            let both = try exchange(path, Array("{\"nope\":{}}\n{\"echo\":{\"fields\":{\"a\":\"b\"}}}\n".utf8),
                                    lines: 2).split(separator: "\n")
            #expect(both.count == 2)
            #expect(both.first == "{\"code\":\"unknown-command\",\"error\":\"unknown command \\\"nope\\\"; the echo daemon knows echo, act, wait\",\"ok\":false}")
            #expect(both.last == "{\"ok\":true,\"result\":{\"a\":\"b\"}}")
            #expect(try ControlClient.call(path, EchoCall.echo(["a": "b"])) == ["a": "b"])
        }
    }

    /// Every way a line can be wrong, each with its code and a message that says what to send.
    @Test(arguments: [
        ("[1,2]", ControlErrorCode.badRequest, "malformed request: expected one JSON object like {\"echo\":{}} per line"),
        ("{}", .badRequest, "a request names exactly one command, like {\"echo\":{}}; got 0 keys"),
        ("{\"echo\":{},\"act\":{}}", .badRequest, "a request names exactly one command, like {\"echo\":{}}; got 2 keys"),
        ("{\"frobnicate\":{}}", .unknownCommand, "unknown command \"frobnicate\"; the echo daemon knows echo, act, wait"),
        ("{\"echo\":{}}", .invalidArgument, "echo: missing argument \"fields\""),
        ("{\"wait\":{\"downtime-ms\":\"soon\"}}", .invalidArgument, "wait: argument \"downtime-ms\" must be Double"),
        ("{\"wait\":{\"downtime-ms\":-1}}", .invalidArgument, "wait: --downtime must be a finite number of milliseconds between 0.01 and 100000, not -1"),
        ("{\"wait\":{\"downtime-ms\":1e20}}", .invalidArgument, "wait: --downtime must be a finite number of milliseconds between 0.01 and 100000, not 1e+20"),
    ])
    func refusedLines(line: String, code: ControlErrorCode, message: String) throws {
        try withControlServer { path throws in
            let reply = try exchange(path, Array((line + "\n").utf8))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any])
            #expect(object["ok"] as? Bool == false)
            #expect(object["code"] as? String == code.rawValue)
            #expect(object["error"] as? String == message)
        }
    }

    @Test func unknownCommandFailureReachesTheClientWithItsCode() throws {
        try withControlServer { path throws in
            let error = #expect(throws: ControlError.self) {
                try ControlClient.call(path, ControlCall<SwitchRequest, Nothing>(.counters))
            }
            #expect(error == ControlError(.unknownCommand, "unknown command \"counters\"; the echo daemon knows echo, act, wait"))
        }
    }

    /// 66,000 bytes fit in the last 4 KiB read past the limit; 100,000 do not.
    @Test(arguments: [66_000, 100_000])
    func requestOverSixtyFourKiBIsRefused(size: Int) throws {
        try withControlServer { path throws in
            let error = #expect(throws: ControlError.self) {
                _ = try ControlClient.call(path, EchoCall.echo(["blob": String(repeating: "x", count: size)]))
            }
            #expect(error == ControlError(.badRequest, "request longer than 65536 bytes; send one JSON object per line"))
            // The server still serves the next client.
            #expect(try ControlClient.call(path, EchoCall.echo(["a": "b"])) == ["a": "b"])
        }
    }

    /// A request line of exactly 65,536 bytes is served; one byte more is refused.
    @Test func limitIsExactlySixtyFourKiB() throws {
        let overhead = try ControlJSON.encoder.encode(EchoRequest.echo(fields: ["blob": ""])).count
        let fits = String(repeating: "y", count: ControlLine.maximumRequestBytes - overhead)
        try withControlServer { path throws in
            #expect(try ControlClient.call(path, EchoCall.echo(["blob": fits])) == ["blob": fits])
            let error = #expect(throws: ControlError.self) {
                _ = try ControlClient.call(path, EchoCall.echo(["blob": fits + "y"]))
            }
            #expect(error?.message == "request longer than 65536 bytes; send one JSON object per line")
        }
    }

    @Test func noDaemonMeansUnreachable() throws {
        try withTemporaryDirectory { directory throws in
            let error = #expect(throws: ControlError.self) {
                try ControlClient.call("\(directory)/absent.sock", SwitchCall.status)
            }
            #expect(error == ControlError(.unreachable, "cannot reach the daemon at \(directory)/absent.sock: connect: No such file or directory; is the lab up?"))
        }
    }

    /// Through a relay the client sends the relay line and the request in one write, then reads the
    /// answer as from the daemon itself.
    @Test func aRoutedCallSendsTheRelayLineFirstInTheSameWrite() throws {
        try withTemporaryDirectory { directory throws in
            let listener = try UnixSocket.listen(at: "\(directory)/machine.sock")
            let received = Mutex<[UInt8]>([])
            let served = NamedThread.start("fake-relay") {
                guard let connection = UnixSocket.accept(on: listener) else { return }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let count = chunk.withUnsafeMutableBytes { (try? connection.read(into: $0)) ?? nil } ?? 0
                received.withLock { $0 = Array(chunk[0..<count]) }
                _ = try? connection.writeAll(Array("{\"ok\":true,\"result\":{\"a\":\"b\"}}\n".utf8))
            }
            let route = ControlRoute(socket: "\(directory)/machine.sock", relayTarget: "switch-pswitch")
            #expect(try ControlClient.call(route, EchoCall.echo(["a": "b"])) == ["a": "b"])
            #expect(served.wait(seconds: 5))
            #expect(String(decoding: received.withLock { $0 }, as: UTF8.self)
                    == "{\"relay\":\"switch-pswitch\"}\n{\"echo\":{\"fields\":{\"a\":\"b\"}}}\n")
        }
    }

    @Test func aRoutedCallToAMissingRelayNamesTheRelayAndTheTarget() throws {
        try withTemporaryDirectory { directory throws in
            let error = #expect(throws: ControlError.self) {
                try ControlClient.call(ControlRoute(socket: "\(directory)/b.sock", relayTarget: "host-esx02"), SwitchCall.status)
            }
            #expect(error == ControlError(.unreachable, "cannot reach the machine relay at \(directory)/b.sock (for host-esx02): connect: No such file or directory; is its machine-relay running and the socket forwarded?"))
        }
    }

    @Test func aTimeoutThroughARelayNamesTheRoute() throws {
        try withTemporaryDirectory { directory throws in
            let listener = try UnixSocket.listen(at: "\(directory)/b.sock")  // accepts (backlog) but never answers
            defer { listener.close() }
            let error = #expect(throws: ControlError.self) {
                try ControlClient.call(ControlRoute(socket: "\(directory)/b.sock", relayTarget: "host-esx02"), SwitchCall.status, timeoutSeconds: 1)
            }
            #expect(error == ControlError(.noAnswer, "no answer to \"status\" from the daemon at host-esx02 via \(directory)/b.sock within 1 s"))
        }
    }

    @Test func socketPathTooLongIsRefused() {
        let path = "/tmp/" + String(repeating: "s", count: 110)
        let error = #expect(throws: SystemError.self) { try ControlServer<SwitchRequest>(path: path) { _ in .done } }
        #expect(error?.errno == ENAMETOOLONG)
    }

    @Test func replyLinesAreOneJSONObject() throws {
        #expect(String(decoding: ControlReply.done.line, as: UTF8.self) == "{\"ok\":true,\"result\":{}}")
        #expect(String(decoding: ControlReply.result(["b": 2, "a": 1]).line, as: UTF8.self) == "{\"ok\":true,\"result\":{\"a\":1,\"b\":2}}")
        #expect(String(decoding: ControlReply.failure(ControlError(.notFound, "no \"x\"")).line, as: UTF8.self)
                == "{\"code\":\"not-found\",\"error\":\"no \\\"x\\\"\",\"ok\":false}")
    }
}

@Suite("PortSpec parses --port and says what is wrong")
struct PortSpecTests {
    @Test func fullForm() throws {
        let spec = try PortSpec(parsing: "name=p1,netns=l2m-client01,ifname=eth0,mtu=9000,addr=10.10.0.100/24")
        #expect(spec.name == "p1" && spec.namespace == "l2m-client01" && spec.interface == "eth0" && spec.mtu == 9000)
        #expect(spec.address?.description == "10.10.0.100/24")
        #expect(spec.address?.prefixLength == 24)
        #expect(spec.description == "name=p1,netns=l2m-client01,ifname=eth0,mtu=9000,addr=10.10.0.100/24")
        #expect(try PortSpec(parsing: spec.description) == spec)
    }

    @Test("desc= names where the port leads, for the capture; without it the interface and namespace do")
    func description() throws {
        let spec = try PortSpec(parsing: "name=esx01,netns=l2m-esx01,ifname=vmnic0,desc=vmnic0 of host esx01")
        #expect(spec.captureDescription == "vmnic0 of host esx01")
        #expect(try PortSpec(parsing: spec.description) == spec)
        #expect(try PortSpec(parsing: "name=p1,netns=ns,ifname=eth0").captureDescription == "eth0 in namespace ns")
        let long = String(repeating: "x", count: 201)
        #expect(throws: ConfigurationError("port p1: desc is 201 bytes; keep it to 200")) {
            try PortSpec(parsing: "name=p1,netns=ns,ifname=eth0,desc=\(long)")
        }
    }

    @Test func defaults() throws {
        let spec = try PortSpec(parsing: "ifname=vmnic0,netns=l2m-esx01,name=esx01-up")
        #expect(spec.mtu == 1500)
        #expect(spec.address == nil)
        #expect(spec.interface == "vmnic0")
    }

    @Test(arguments: [
        ("name=p1,netns=ns,ifname=eth0,speed=10",
         "port \"name=p1,netns=ns,ifname=eth0,speed=10\": unknown key \"speed\"; keys are name, netns, ifname, mtu, addr, addr6, desc, vlan, trunk, native, max-macs, sticky, violation, port-mtu, attach, qemu, vxlan, vni, local, dstport, underlay"),
        ("name=p1,ifname=eth0",
         "port \"name=p1,ifname=eth0\": missing netns=; write name=p1,netns=NS,ifname=eth0 (a TAP), or attach=IFNAME, qemu=PATH or vxlan=REMOTE,vni=N"),
        ("name=p1,netns=ns,ifname=eth0,mtu=9001",
         "port p1: mtu 9001 is out of range; use 68...9000"),
        ("name=p1,netns=ns,ifname=eth0,mtu=67",
         "port p1: mtu 67 is out of range; use 68...9000"),
        ("name=p1,netns=ns,ifname=eth0,mtu=jumbo",
         "port p1: mtu \"jumbo\" is not a number"),
        ("name=p1,netns=ns,ifname=averyverylongname",
         "port p1: ifname \"averyverylongname\" is 17 bytes; Linux interface names are at most 15"),
        ("name=p1,netns=ns,ifname=eth0,addr=10.10.0.300/24",
         "port p1: addr \"10.10.0.300/24\" is not an IPv4 address with prefix like 10.10.0.100/24"),
        ("name=p1,netns=ns,ifname=eth0,addr=10.10.0.1",
         "port p1: addr \"10.10.0.1\" is not an IPv4 address with prefix like 10.10.0.100/24"),
        ("name=p1,netns,ifname=eth0",
         "port \"name=p1,netns,ifname=eth0\": \"netns\" is not key=value; write name=p1,netns=NS,ifname=eth0[,mtu=1500][,port-mtu=N][,vlan=N|trunk=10:20:30-40[,native=N]][,max-macs=N,sticky=yes|no,violation=drop|shut][,addr=10.0.0.1/24][,addr6=fd00::1/64[+…]][,desc=TEXT] (a TAP), or attach=IFNAME[,netns=NS], qemu=PATH or vxlan=REMOTE,vni=N[,local=A][,dstport=4789][,underlay=NS] in place of netns= and ifname="),
        ("name=p 1,netns=ns,ifname=eth0",
         "port name \"p 1\" must be 1-32 letters, digits, - or _"),
        ("name=p1,netns=ns,ifname=eth/0",
         "port p1: ifname \"eth/0\" may hold only ASCII letters, digits, - _ ."),
    ])
    func invalidForms(text: String, message: String) {
        #expect(throws: ConfigurationError(message)) { try PortSpec(parsing: text) }
    }

    @Test func fifteenByteInterfaceNameIsTheLimit() throws {
        #expect(try PortSpec(parsing: "name=p1,netns=ns,ifname=abcdefghijklmno").interface == "abcdefghijklmno")
    }

    @Test func validatePortsRefusesDuplicates() throws {
        let a = PortSpec(name: "p1", namespace: "l2m-esx01", interface: "vmnic0")
        let b = PortSpec(name: "p2", namespace: "l2m-esx02", interface: "vmnic0")
        try validatePorts([a, b])
        #expect(throws: ConfigurationError("port name p1 is used twice; give each --port its own name")) {
            try validatePorts([a, b, PortSpec(name: "p1", namespace: "l2m-esx03", interface: "vmnic0")])
        }
        #expect(throws: ConfigurationError("ports p1 and p3 both use interface vmnic0 in namespace l2m-esx01; give each port its own")) {
            try validatePorts([a, b, PortSpec(name: "p3", namespace: "l2m-esx01", interface: "vmnic0")])
        }
        #expect(throws: ConfigurationError("a switch needs at least one --port")) { try validatePorts([]) }
        #expect(throws: ConfigurationError("port p9: mtu 10000 is out of range; use 68...9000")) {
            try validatePorts([a, PortSpec(name: "p9", namespace: "ns", interface: "eth0", mtu: 10_000)])
        }
    }
}
