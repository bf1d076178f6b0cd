import L2Wire
import Testing
@testable import L2Switch

/// The generator's bad frames against the switch core: no trap, and each kind lands on the drop
/// reason its documentation promises, with every received frame accounted for.
@Suite("Switch core against generated bad frames")
struct FrameGeneratorSwitchTests {
    @Test("each bad kind is dropped for its reason; random frames are forwarded or dropped, never lost",
          arguments: [68, 1500, 9000])
    func badFramesDroppedByReason(mtu: Int) throws {
        var core = SwitchCore()
        for n in 1...3 { try core.addPort(PortID(n), PortConfiguration(name: "p\(n)", mtu: mtu)) }
        var generator = FrameGenerator(kinds: FrameGenerator.Kind.bad, mtu: mtu, source: mac(0xA), seed: 99)
        var buffer: [UInt8] = []
        var sent: [FrameGenerator.Kind: UInt64] = [:]
        for number in 0..<6_000 {
            let kind = generator.next(into: &buffer)
            sent[kind, default: 0] += 1
            let result = core.receive(buffer, on: 1, at: UInt64(number) * millisecond, frameNumber: UInt64(number + 1))
            switch kind {
            case .runt, .badVLAN: #expect(result.decision == .drop(.runt))
            case .oversize: #expect(result.decision == .drop(.oversize))
            case .multicastSource, .zeroSource: #expect(result.decision == .drop(.badSource))
            case .random, .macFlood, .spoof: break
            }
        }
        let counters = try #require(core.counters(of: 1))
        #expect(counters.rxFrames == 6_000)
        #expect(counters.rxFrames == counters.rxAccounted)
        #expect(counters.rxDrops.runt >= sent[.runt, default: 0] + sent[.badVLAN, default: 0])
        #expect(counters.rxDrops.oversize >= sent[.oversize, default: 0])
        #expect(counters.rxDrops.badSource >= sent[.multicastSource, default: 0] + sent[.zeroSource, default: 0])
        #expect(core.counters(of: 2)?.rxFrames == 0)
    }

    @Test("a generated MAC flood fills a small table from one port and keeps the other ports' stations")
    func floodKeepsOtherPorts() throws {
        var core = try threePortSwitch(.init(macTable: .init(capacity: 64)))
        let b = mac(0xB), c = mac(0xC)
        _ = core.receive(frame(to: c, from: b), on: 2, at: 0, frameNumber: 1)
        _ = core.receive(frame(to: b, from: c), on: 3, at: 0, frameNumber: 2)
        var generator = FrameGenerator(kinds: [.macFlood], source: mac(0xA), seed: 5)
        var buffer: [UInt8] = []
        for number in 0..<10_000 {
            generator.next(into: &buffer)
            #expect(core.receive(buffer, on: 1, at: UInt64(number + 1) * millisecond, frameNumber: UInt64(number + 3)).decision == .flood)
        }
        #expect(core.macTable.count == 64)
        #expect(core.macTable.count(on: 2) == 1 && core.macTable.count(on: 3) == 1)
        #expect(core.macTable.count(on: 1) == 62)
        #expect(core.macTable.entry(for: b, at: 10 * second)?.port == 2)
        #expect(core.macTable.entry(for: c, at: 10 * second)?.port == 3)
    }
}
