import FuzzSupport
import L2Switch
import L2Wire

/// `SwitchCore.receive` on arbitrary frames arriving on random ports, interleaved with port state
/// changes, aging and flushes. Ports 1-4 exist (MTU 1500, 68, 9000, 1500; port 4 starts down), ports
/// 0 and 5-7 do not. Input: [table capacity][ops...], each op [op][length hi][length lo][frame...]:
/// op bits 0-2 the port, bits 3-4 the kind (0-1 receive, 2 set the port up/down, 3 expire or flush),
/// bits 5-7 how far the clock moves. Invariants: the table stays within its capacity, a unicast
/// never goes back out of its ingress port or to a down port, and every received frame on a known
/// port is counted.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzReader(data, size)
    let capacity = 1 + Int(input.u8() % 32)
    var core = SwitchCore(configuration: .init(macTable: .init(capacity: capacity, agingTime: 5_000_000),
                                               eventLogCapacity: 8, logsLearning: true))
    let mtus = [1500, 68, 9000, 1500]
    for (number, mtu) in mtus.enumerated() {
        try! core.addPort(PortID(number + 1), PortConfiguration(name: "p\(number + 1)", mtu: mtu, isUp: number != 3))
    }
    var now: UInt64 = 1
    var frameNumber: UInt64 = 0
    var up: [Bool] = [false, true, true, true, false, false, false, false]
    while !input.isAtEnd {
        let op = input.u8()
        let port = PortID(Int(op & 7))
        now += UInt64(op >> 5) * 1_000_000
        switch op >> 3 & 3 {
        case 0, 1:
            let frame = Array(input.take(Int(input.u16() % 9100)))
            frameNumber += 1
            let before = core.counters(of: port)?.rxFrames
            let result = core.receive(frame, on: port, at: now, frameNumber: frameNumber)
            if let before, core.counters(of: port)?.rxFrames != before + 1 { fuzzFailure("frame not counted on \(port)") }
            if case let .unicast(egress) = result.decision {
                if egress == port { fuzzFailure("unicast back out of ingress \(port)") }
                if !up[egress.rawValue] { fuzzFailure("unicast to down port \(egress)") }
            }
            if result.decision == .flood {
                for target in core.floodTargets(from: port) where target == port || !up[target.rawValue] {
                    fuzzFailure("flood to \(target) from \(port)")
                }
            }
            _ = result.decision.description
        case 2:
            if (1...4).contains(port.rawValue) {
                up[port.rawValue].toggle()
                try! core.setPort(port, up: up[port.rawValue])
            } else if (try? core.setPort(port, up: true)) != nil {
                fuzzFailure("set a port that does not exist")
            }
        default:
            if op & 0x80 != 0 { _ = core.flush(port: port) } else { _ = core.expire(now: now) }
        }
        if core.macTable.count > capacity { fuzzFailure("\(core.macTable.count) entries in a table of \(capacity)") }
    }
    _ = core.events(since: 0)
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested {
        let vm = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10)
        let peer = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x64)
        let ping = Frames.icmpEcho(sourceMAC: peer, destinationMAC: vm, source: IPv4Address(10, 10, 0, 100),
                                   destination: IPv4Address(10, 10, 0, 10), identifier: 1, sequence: 1, payload: Array(0..<56))
        let pong = Frames.icmpEcho(sourceMAC: vm, destinationMAC: peer, source: IPv4Address(10, 10, 0, 10),
                                   destination: IPv4Address(10, 10, 0, 100), type: .echoReply, identifier: 1, sequence: 1,
                                   payload: Array(0..<56))
        let rarp = Announce.rarpFrame(for: vm)
        let tagged = EthernetFrame.build(destination: vm, source: peer, vlan: VLANTag(vid: 100), etherType: .ipv4,
                                         payload: Array(repeating: 0x45, count: 1500))
        func op(_ port: UInt8, _ kind: UInt8 = 0, _ clock: UInt8 = 0, _ frame: [UInt8] = []) -> [UInt8] {
            [port | kind << 3 | clock << 5, UInt8(frame.count >> 8), UInt8(frame.count & 0xFF)] + frame
        }
        return [
            // Ping and reply, then the VM moves (its RARP on port 3), then traffic follows it.
            [8] + op(1, 0, 0, ping) + op(2, 0, 1, pong) + op(1, 0, 1, ping) + op(3, 0, 2, rarp) + op(1, 0, 1, ping),
            // Oversize on the small-MTU port, tagged jumbo on port 3, runts, zero and multicast sources.
            [4] + op(2, 0, 0, ping) + op(3, 1, 0, tagged) + op(1, 0, 0, Array(ping.prefix(13)))
                + op(1, 0, 0, [0x81, 0x00] + Array(repeating: 0, count: 14)) + op(1, 0, 0, Array(repeating: 0, count: 60))
                + op(1, 0, 0, Array(repeating: 0xFF, count: 60)),
            // Port state changes, unknown ports, aging and flushes.
            [2] + op(1, 0, 0, ping) + op(2, 0, 0, pong) + op(2, 2) + op(1, 0, 0, ping) + op(4, 2) + op(4, 0, 0, pong)
                + op(6, 0, 0, ping) + op(0, 2) + op(1, 3, 7) + op(2, 3, 4) + op(1, 0, 0, ping),
            // A small table filled with many sources from one port.
            [1] + (0..<20).flatMap { number -> [UInt8] in
                var frame = ping
                frame[11] = UInt8(number)
                return op(UInt8(1 + number % 3), 0, UInt8(number % 2), frame)
            },
        ]
    }
    return 0
}

@_cdecl("FuzzSwitch_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { fuzz($0, $1) }
}
