import Foundation
import Testing
@testable import L2Wire

@Suite("Frame generator")
struct FrameGeneratorTests {
    static let source = MACAddress(0x02, 0x00, 0x00, 0x00, 0x00, 0x01)

    static func frames(_ kinds: [FrameGenerator.Kind], count: Int, mtu: Int = 1500, seed: UInt64 = 7)
        -> [(FrameGenerator.Kind, [UInt8])]
    {
        var generator = FrameGenerator(kinds: kinds, mtu: mtu, source: source, seed: seed)
        var buffer: [UInt8] = []
        return (0..<count).map { _ in
            let kind = generator.next(into: &buffer)
            return (kind, buffer)
        }
    }

    @Test("every kind stays within its length range", arguments: FrameGenerator.Kind.allCases, [68, 1500, 9000])
    func lengths(kind: FrameGenerator.Kind, mtu: Int) {
        let range = FrameGenerator.lengths(of: kind, mtu: mtu)
        let lengths = Self.frames([kind], count: 2000, mtu: mtu).map(\.1.count)
        #expect(lengths.allSatisfy(range.contains))
        if range.count > 1 {
            #expect(lengths.contains(range.lowerBound) && lengths.contains(range.upperBound), "both ends are reached")
        }
    }

    @Test("the documented ranges: runt 1-13, oversize MTU+15...MTU+200 payload, bad-vlan 14-17, random 14-1514")
    func documentedRanges() {
        #expect(FrameGenerator.lengths(of: .runt, mtu: 1500) == 1...13)
        #expect(FrameGenerator.lengths(of: .oversize, mtu: 1500) == 1529...1714)
        #expect(FrameGenerator.lengths(of: .badVLAN, mtu: 1500) == 14...17)
        #expect(FrameGenerator.lengths(of: .random, mtu: 1500) == 14...1514)
        #expect(FrameGenerator.lengths(of: .macFlood, mtu: 1500) == 60...60)
    }

    @Test("kinds are taken round-robin in the given order")
    func roundRobin() {
        let kinds: [FrameGenerator.Kind] = [.runt, .zeroSource, .oversize]
        let produced = Self.frames(kinds, count: 9).map(\.0)
        #expect(produced == kinds + kinds + kinds)
    }

    @Test("the same seed gives the same frames; another seed different ones")
    func deterministic() {
        let first = Self.frames(FrameGenerator.Kind.allCases, count: 200, seed: 42).map(\.1)
        let again = Self.frames(FrameGenerator.Kind.allCases, count: 200, seed: 42).map(\.1)
        let other = Self.frames(FrameGenerator.Kind.allCases, count: 200, seed: 43).map(\.1)
        #expect(first == again)
        #expect(first != other)
    }

    @Test("header fields of each kind")
    func headers() throws {
        for (kind, bytes) in Self.frames(FrameGenerator.Kind.allCases, count: 700) {
            switch kind {
            case .runt, .random:
                break
            case .oversize:
                let frame = try EthernetFrame(bytes[...])
                #expect(frame.source == Self.source && frame.destination == .broadcast)
                #expect(frame.etherType.rawValue == FrameGenerator.experimentalEtherType)
            case .badVLAN:
                #expect(Array(bytes[0..<6]) == MACAddress.broadcast.bytes)
                #expect(Array(bytes[6..<12]) == Self.source.bytes)
                #expect(bytes[12] == 0x81 && bytes[13] == 0x00)
                #expect(throws: WireError.self) { try EthernetFrame(bytes[...]) }
            case .multicastSource:
                let frame = try EthernetFrame(bytes[...])
                #expect(frame.source.isMulticast)
                #expect(frame.destination == .broadcast)
            case .zeroSource:
                let frame = try EthernetFrame(bytes[...])
                #expect(frame.source.isZero)
            case .macFlood:
                let frame = try EthernetFrame(bytes[...])
                #expect(!frame.source.isMulticast && !frame.source.isZero)
                #expect(frame.source.octets.0 & 0x02 != 0, "locally administered")
                #expect(frame.destination == .broadcast || !frame.destination.isMulticast)
                #expect(frame.etherType.rawValue == FrameGenerator.experimentalEtherType)
            case .spoof:
                let frame = try EthernetFrame(bytes[...])
                #expect(frame.source == Self.source && frame.destination == .broadcast)
                #expect(frame.etherType.rawValue == FrameGenerator.experimentalEtherType)
                #expect(bytes.count == FrameGenerator.validFrameLength)
            }
        }
    }

    @Test("a MAC flood's sources are (practically) all distinct and its destinations mix broadcast and unicast")
    func floodSources() {
        let frames = Self.frames([.macFlood], count: 20_000)
        let sources = Set(frames.map { MACAddress(bytes: $0.1, at: 6) })
        #expect(sources.count == 20_000)
        let broadcasts = frames.filter { MACAddress(bytes: $0.1, at: 0) == .broadcast }.count
        #expect(broadcasts > 9_000 && broadcasts < 11_000)
    }

    @Test("parsing --kind lists")
    func parseKinds() throws {
        #expect(try FrameGenerator.Kind.parseList("runt, oversize") == [.runt, .oversize])
        #expect(try FrameGenerator.Kind.parseList("bad") == FrameGenerator.Kind.bad)
        #expect(try FrameGenerator.Kind.parseList("mac-flood,bad-vlan") == [.macFlood, .badVLAN])
        #expect(throws: FrameKindError.self) { try FrameGenerator.Kind.parseList("runts") }
        #expect(throws: FrameKindError.self) { try FrameGenerator.Kind.parseList(" , ") }
        let error = #expect(throws: FrameKindError.self) { try FrameGenerator.Kind.parseList("runt,jumbo") }
        #expect(error?.description.contains("\"jumbo\"") == true && error?.description.contains("mac-flood") == true)
    }

    @Test("the report tallies per kind, prints one line and round-trips as JSON")
    func report() throws {
        var report = FrameGenerator.Report(interface: "eth0", kinds: [.runt, .oversize, .runt])
        #expect(report.kinds.map(\.kind) == [.runt, .oversize])
        report.record(.runt, refusal: "Invalid argument")
        report.record(.oversize)
        report.record(.oversize)
        report.record(.macFlood)  // not in the list: ignored
        report.seconds = 2
        report.interfaceDropped = 0
        #expect(report.sent == 2 && report.sendErrors == 1)
        #expect(report[.oversize].sent == 2 && report[.runt].refused == 1 && report[.zeroSource].sent == 0)
        #expect(report.summary == "eth0: sent 2 frames in 2.0 s (1/s): runt 0 (1 refused by the kernel: Invalid argument), oversize 2; send errors 1; interface dropped 0")
        let data = try JSONEncoder().encode(report)
        #expect(String(decoding: data, as: UTF8.self).contains("\"interface_dropped\":0"))
        #expect(try JSONDecoder().decode(FrameGenerator.Report.self, from: data) == report)
    }
}
