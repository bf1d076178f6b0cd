import L2Wire
@testable import L2Guest

/// Line protocol on port 80: a request is a line; `get N` answers `N` pattern bytes, `quit` answers
/// `bye` and closes, anything else is echoed upper-cased. Waits for the newline.
struct LineService: TCPService {
    var name: String { "line" }
    var port: UInt16 { 80 }
    func serve(_ input: ArraySlice<UInt8>, store: ServiceStore, context: ServiceContext) -> TCPServiceReply {
        guard let newline = input.firstIndex(of: 0x0A) else { return .needMoreInput }
        let line = String(decoding: input[input.startIndex..<newline], as: UTF8.self)
        let consumed = newline - input.startIndex + 1
        if line.hasPrefix("get "), let count = UInt64(line.dropFirst(4)) {
            return TCPServiceReply(consumed: consumed, output: [.pattern(offset: 0, count: count)])
        }
        if line == "quit" { return TCPServiceReply(consumed: consumed, output: [.bytes(Array("bye\n".utf8))], close: true) }
        return TCPServiceReply(consumed: consumed, output: [.bytes(Array(line.uppercased().utf8) + [0x0A])])
    }
}

/// A broken service (port 9) that always waits for more input.
struct NeverSatisfied: TCPService {
    var name: String { "never" }
    var port: UInt16 { 9 }
    func serve(_ input: ArraySlice<UInt8>, store: ServiceStore, context: ServiceContext) -> TCPServiceReply {
        .needMoreInput
    }
}

let tcpServices: [any TCPService] = [EchoService(), LineService(), NeverSatisfied()]
let tcpContext = ServiceContext(vmName: "web01", hostName: "esx01", uptimeNanoseconds: 0, migrationCount: 0)
let tcpMillisecond: UInt64 = 1_000_000
let tcpSecond: UInt64 = 1_000_000_000

/// A client driving the stack by hand: builds its segments, keeps its own seq/ack, and an injected
/// guest clock. Every reply is parsed and its checksum checked.
struct TCPHarness {
    static let clientIP = IPAddress.v4(IPv4Address(10, 10, 0, 100))
    static let serverIP = IPAddress.v4(IPv4Address(10, 10, 0, 10))

    var stack: TCPStack
    var memory: GuestMemory
    var now: UInt64 = 5 * tcpSecond
    var client = TCPHarness.clientIP
    var server = TCPHarness.serverIP

    init(pageCount: Int = 32_768) throws {
        memory = try GuestMemory(pageCount: pageCount)
        stack = TCPStack(region: GuestLayout.networkRegion(pageCount: pageCount)!)
    }

    /// Delivers raw segment bytes from the client; returns the stack's replies, parsed.
    mutating func deliver(_ bytes: [UInt8]) -> [TCPSegment] {
        let segment = try! TCPSegment(bytes)
        let out = stack.receive(segment, from: client, to: server, now: now, memory: memory,
                                services: tcpServices, context: tcpContext)
        return parse(out)
    }

    mutating func send(port: UInt16 = 80, from clientPort: UInt16 = 40_000, seq: UInt32, ack: UInt32 = 0,
                       flags: TCPFlags, window: UInt16 = 64_240, options: [UInt8] = [],
                       payload: [UInt8] = []) -> [TCPSegment] {
        deliver(TCPSegment.build(source: client, destination: server, sourcePort: clientPort, destinationPort: port,
                                 sequenceNumber: seq, acknowledgmentNumber: ack, flags: flags, window: window,
                                 options: options, payload: payload))
    }

    /// Advances the guest clock and runs the timers.
    mutating func tick(after delta: UInt64) -> [TCPSegment] {
        now += delta
        return parse(stack.tick(now: now, memory: memory, services: tcpServices, context: tcpContext))
    }

    func parse(_ out: [TCPOutgoingSegment]) -> [TCPSegment] {
        out.map { outgoing in
            precondition(outgoing.local == server && outgoing.remote == client, "reply addressed wrongly")
            let segment = try! TCPSegment(outgoing.segment)
            precondition(segment.isChecksumValid(source: server, destination: client), "bad checksum")
            return segment
        }
    }

    /// Opens a connection from `clientPort` (SYN with MSS 1460 and WS 7) after `rtt` of guest time;
    /// returns (client's next seq, server's next seq).
    mutating func connect(port: UInt16 = 80, from clientPort: UInt16 = 40_000, isn: UInt32 = 1_000,
                          rtt: UInt64 = tcpMillisecond, windowScale: Bool = true) -> (client: UInt32, server: UInt32) {
        let options: [UInt8] = windowScale ? [2, 4, 0x05, 0xB4, 1, 3, 3, 7] : [2, 4, 0x05, 0xB4]
        let synAck = send(port: port, from: clientPort, seq: isn, flags: .syn, options: options)
        precondition(synAck.count == 1 && synAck[0].flags == [.syn, .ack], "no SYN-ACK: \(synAck)")
        now += rtt
        let serverNext = synAck[0].sequenceNumber &+ 1
        let none = send(port: port, from: clientPort, seq: isn &+ 1, ack: serverNext, flags: .ack,
                        window: windowScale ? 502 : 64_240)
        precondition(none.isEmpty, "handshake ACK answered: \(none)")
        return (isn &+ 1, serverNext)
    }

    func summary(port: UInt16 = 40_000) -> TCPConnectionSummary? {
        stack.connections(in: memory).first { $0.remotePort == port }
    }
}

