import FuzzSupport
import L2Guest
import L2Wire

/// `TCPStack.receive` and `tick` on arbitrary segments from a few peers, with the guest clock
/// moving. A 4096-page guest (12 slots). Input: ops, each [op][u16 length][segment...]: op bits 0-1
/// the peer (10.10.0.100-102 or fd00::100), bit 2 run the timers after the segment, bits 3-7 how
/// far the clock moves (× 50 ms). Services: an echo on port 7, and on port 80 a line service that
/// answers `get N` with pattern bytes and closes on `quit`. Invariants: every segment the stack
/// sends parses, carries a valid checksum for its addresses and comes from the port it was sent
/// to; no more connections than slots.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzReader(data, size)
    let memory = try! GuestMemory(pageCount: GuestLayout.smallestNetworkedPageCount)
    let region = GuestLayout.networkRegion(pageCount: memory.pageCount)!
    var stack = TCPStack(region: region)
    let context = ServiceContext(vmName: "web01", hostName: "esx01", uptimeNanoseconds: 0, migrationCount: 0)
    let services: [any TCPService] = [FuzzEcho(), FuzzLines()]
    let peers: [IPAddress] = [.v4(IPv4Address(10, 10, 0, 100)), .v4(IPv4Address(10, 10, 0, 101)),
                              .v4(IPv4Address(10, 10, 0, 102)), .v6(IPv6Address(high: 0xFD00 << 48, low: 0x100))]
    let v4 = IPAddress.v4(IPv4Address(10, 10, 0, 10))
    let v6 = IPAddress.v6(IPv6Address(high: 0xFD00 << 48, low: 0x10))
    var now: UInt64 = 1_000_000_000
    while !input.isAtEnd {
        let op = input.u8()
        let peer = peers[Int(op & 3)]
        let local = peer.family == 6 ? v6 : v4
        now += UInt64(op >> 3) * 50_000_000
        let bytes = input.take(Int(input.u16() % 2048))
        var out: [TCPOutgoingSegment] = []
        if let segment = try? TCPSegment(bytes) {
            out += stack.receive(segment, from: peer, to: local, now: now, memory: memory, services: services, context: context)
        }
        if op & 4 != 0 { out += stack.tick(now: now, memory: memory, services: services, context: context) }
        for sent in out {
            guard let segment = try? TCPSegment(sent.segment) else { fuzzFailure("unparseable segment sent") }
            if !segment.isChecksumValid(source: sent.local, destination: sent.remote) { fuzzFailure("bad checksum: \(segment)") }
            if sent.local.family != sent.remote.family { fuzzFailure("mixed families") }
        }
        if stack.connections(in: memory).count > region.tcpSlots { fuzzFailure("more connections than slots") }
    }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested {
        let client = IPv4Address(10, 10, 0, 100)
        let server = IPv4Address(10, 10, 0, 10)
        func op(_ code: UInt8, _ segment: [UInt8]) -> [UInt8] {
            [code, UInt8(segment.count >> 8), UInt8(segment.count & 0xFF)] + segment
        }
        func segment(seq: UInt32, ack: UInt32 = 0, flags: TCPFlags, port: UInt16 = 80, options: [UInt8] = [],
                     payload: [UInt8] = []) -> [UInt8] {
            TCPSegment.build(source: client, destination: server, sourcePort: 40_000, destinationPort: port,
                             sequenceNumber: seq, acknowledgmentNumber: ack, flags: flags, window: 502,
                             options: options, payload: payload)
        }
        let syn = segment(seq: 1_000, flags: .syn, options: [2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7])
        // The ISS is not known in advance: the ACK numbers below are guesses the fuzzer refines.
        let handshake = op(0, syn) + op(8, segment(seq: 1_001, ack: 0x7ABD_3B5C, flags: .ack))
        return [
            op(0, syn),
            handshake + op(8, segment(seq: 1_001, ack: 0x7ABD_3B5C, flags: [.psh, .ack], payload: Array("get 5000\n".utf8))),
            handshake + op(12, segment(seq: 1_001, ack: 0x7ABD_3B5C, flags: [.fin, .ack])),
            op(0, segment(seq: 1_000, flags: .syn, port: 7)) + op(4 | 0xF8, []),
            op(0, segment(seq: 5, ack: 9, flags: .ack)) + op(0, segment(seq: 5, flags: .rst)),
        ]
    }
    return 0
}

@_cdecl("FuzzTCP_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { fuzz($0, $1) }
}

struct FuzzEcho: TCPService {
    var name: String { "echo" }
    var port: UInt16 { 7 }
    func serve(_ input: ArraySlice<UInt8>, store: ServiceStore, context: ServiceContext) -> TCPServiceReply {
        let count = min(input.count, TCPServiceLimits.maximumReply)
        return TCPServiceReply(consumed: count, output: [.bytes(Array(input.prefix(count)))])
    }
}

struct FuzzLines: TCPService {
    var name: String { "lines" }
    var port: UInt16 { 80 }
    func serve(_ input: ArraySlice<UInt8>, store: ServiceStore, context: ServiceContext) -> TCPServiceReply {
        guard let newline = input.firstIndex(of: 0x0A) else {
            return input.count >= TCPServiceLimits.receiveBuffer ? TCPServiceReply(consumed: input.count, close: true) : .needMoreInput
        }
        let line = input[input.startIndex..<newline]
        let consumed = newline - input.startIndex + 1
        if line.starts(with: Array("get ".utf8)), let count = UInt64(String(decoding: line.dropFirst(4), as: UTF8.self)) {
            return TCPServiceReply(consumed: consumed, output: [.bytes(Array("ok\n".utf8)), .pattern(offset: count, count: count)])
        }
        return TCPServiceReply(consumed: consumed, output: [.bytes(Array(line))], close: line.elementsEqual("quit".utf8))
    }
}
