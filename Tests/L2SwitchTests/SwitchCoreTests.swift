import L2Wire
import Testing
@testable import L2Switch

@Suite("Switch core")
struct SwitchCoreTests {
    let a = mac(0xA), b = mac(0xB), c = mac(0xC)

    @Test func unknownUnicastFloodsThenKnownUnicastGoesToOnePort() throws {
        var core = try threePortSwitch()
        let first = core.receive(frame(to: b, from: a), on: 1, at: 0, frameNumber: 1)
        #expect(first.decision == .flood)
        #expect(first.event?.kind == .learned)
        #expect(first.event?.mac == a)
        #expect(Array(core.floodTargets(from: 1)) == [2, 3])
        #expect(core.receive(frame(to: a, from: b), on: 2, at: 1, frameNumber: 2).decision == .unicast(1))
        #expect(core.receive(frame(to: b, from: a), on: 1, at: 2, frameNumber: 3).decision == .unicast(2))
        let p1 = try #require(core.counters(of: 1))
        #expect(p1.rxFrames == 2)
        #expect(p1.floodedFrames == 1)
        #expect(p1.unicastFrames == 1)
        #expect(p1.rxBytes == 120)
    }

    @Test func broadcastAndMulticastFloodEvenWhenTheyLookKnown() throws {
        var core = try threePortSwitch()
        _ = core.receive(frame(to: b, from: a), on: 1, at: 0, frameNumber: 1)
        #expect(core.receive(frame(to: .broadcast, from: b), on: 2, at: 1, frameNumber: 2).decision == .flood)
        let multicast = MACAddress(0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb)
        #expect(core.receive(frame(to: multicast, from: b), on: 2, at: 2, frameNumber: 3).decision == .flood)
        #expect(core.counters(of: 2)?.floodedFrames == 2)
    }

    @Test func floodNeverGoesBackOutTheIngressPortNorToDownPorts() throws {
        var core = try threePortSwitch()
        try core.addPort(4, PortConfiguration(name: "p4"))
        for ingress: PortID in [1, 2, 3, 4] {
            #expect(!core.floodTargets(from: ingress).contains(ingress))
            #expect(Array(core.floodTargets(from: ingress)).count == 3)
        }
        try core.setPort(3, up: false)
        #expect(Array(core.floodTargets(from: 1)) == [2, 4])
        try core.setPort(3, up: true)
        #expect(Array(core.floodTargets(from: 1)) == [2, 3, 4])
    }

    @Test func knownDestinationOnTheIngressPortIsFiltered() throws {
        var core = try threePortSwitch()
        _ = core.receive(frame(to: .broadcast, from: a), on: 1, at: 0, frameNumber: 1)
        _ = core.receive(frame(to: .broadcast, from: b), on: 1, at: 0, frameNumber: 2)
        let result = core.receive(frame(to: b, from: a), on: 1, at: 1, frameNumber: 3)
        #expect(result.decision == .drop(.sameSegment))
        #expect(core.counters(of: 1)?.rxDrops.sameSegment == 1)
    }

    @Test func downPortDropsWhatItReceivesAndWhatIsSentToIt() throws {
        var core = try threePortSwitch()
        _ = core.receive(frame(to: .broadcast, from: a), on: 1, at: 0, frameNumber: 1)
        _ = core.receive(frame(to: .broadcast, from: b), on: 2, at: 0, frameNumber: 2)
        try core.setPort(2, up: false)
        // Ingress down: dropped and nothing learned from it.
        let fromDown = core.receive(frame(to: a, from: c), on: 2, at: 1, frameNumber: 3)
        #expect(fromDown.decision == .drop(.portDown))
        #expect(fromDown.event == nil)
        #expect(core.macTable.entry(for: c, at: 1) == nil)
        // Egress down: a known unicast to it is dropped, counted on the ingress port.
        #expect(core.receive(frame(to: b, from: a), on: 1, at: 1, frameNumber: 4).decision == .drop(.portDown))
        #expect(core.counters(of: 2)?.rxDrops.portDown == 1)
        #expect(core.counters(of: 1)?.rxDrops.portDown == 1)
        // The entry survives the port going down (a real switch keeps it until aging).
        #expect(core.macTable.entry(for: b, at: 1)?.port == 2)
        try core.setPort(2, up: true)
        #expect(core.receive(frame(to: b, from: a), on: 1, at: 2, frameNumber: 5).decision == .unicast(2))
        #expect(core.flush(port: 2) == 1)
        #expect(core.receive(frame(to: b, from: a), on: 1, at: 3, frameNumber: 6).decision == .flood)
    }

    @Test(arguments: 0..<14)
    func runtsAreDropped(length: Int) throws {
        var core = try threePortSwitch()
        let bytes = Array(frame(to: b, from: a).prefix(length))
        #expect(core.receive(bytes, on: 1, at: 0, frameNumber: 1).decision == .drop(.runt))
        #expect(core.counters(of: 1)?.rxDrops.runt == 1)
        #expect(core.macTable.count == 0)
    }

    @Test(arguments: 14..<18)
    func truncatedVLANTagIsARunt(length: Int) throws {
        var core = try threePortSwitch()
        let bytes = Array(taggedFrame(to: b, from: a).prefix(length))
        #expect(core.receive(bytes, on: 1, at: 0, frameNumber: 1).decision == .drop(.runt))
        #expect(core.counters(of: 1)?.rxDrops.runt == 1)
    }

    @Test func untaggedHeaderOnlyFrameIsAccepted() throws {
        var core = try threePortSwitch()
        #expect(core.receive(frame(to: b, from: a, payload: 0), on: 1, at: 0, frameNumber: 1).decision == .flood)
        #expect(core.receive(taggedFrame(to: b, from: a, payload: 0), on: 1, at: 0, frameNumber: 2).decision == .flood)
    }

    @Test func oversizeIsMeasuredAgainstTheIngressMTU() throws {
        var core = try threePortSwitch()
        try core.addPort(9, PortConfiguration(name: "vmk1", mtu: 9000))
        #expect(core.receive(frame(to: b, from: a, payload: 1500), on: 1, at: 0, frameNumber: 1).decision == .flood)
        #expect(core.receive(frame(to: b, from: a, payload: 1501), on: 1, at: 0, frameNumber: 2).decision == .drop(.oversize))
        // A tag adds four bytes of allowance.
        #expect(core.receive(taggedFrame(to: b, from: a, payload: 1500), on: 1, at: 0, frameNumber: 3).decision == .flood)
        #expect(core.receive(taggedFrame(to: b, from: a, payload: 1501), on: 1, at: 0, frameNumber: 4).decision == .drop(.oversize))
        // Jumbo port.
        #expect(core.receive(frame(to: b, from: c, payload: 9000), on: 9, at: 0, frameNumber: 5).decision == .flood)
        #expect(core.receive(frame(to: b, from: c, payload: 9001), on: 9, at: 0, frameNumber: 6).decision == .drop(.oversize))
        #expect(core.counters(of: 1)?.rxDrops.oversize == 2)
        #expect(core.counters(of: 9)?.rxDrops.oversize == 1)
    }

    @Test func superFramePassesWhenEachSegmentFitsTheMTU() throws {
        var core = try threePortSwitch()
        // An IPv4/TCP super-frame of 20,000 bytes, data offset 8 words (timestamps), 1448-byte segments:
        // each segment is 14 + 20 + 32 + 1448 = 1514 bytes on the wire.
        var superFrame = frame(to: b, from: a, payload: 20_000 - 14)
        superFrame[14] = 0x45
        superFrame[23] = 6
        superFrame[14 + 20 + 12] = 8 << 4
        let tso = VirtioNetHeader(flags: VirtioNetHeader.needsChecksumFlag, segmentationType: 1, headerLength: 66,
                                  segmentSize: 1448, checksumStart: 34, checksumOffset: 16)
        #expect(core.receive(superFrame, on: 1, at: 0, frameNumber: 1, offload: tso).decision == .flood)
        #expect(core.counters(of: 1)?.rxBytes == 20_000)
        // The same bytes without the header are one oversize frame.
        #expect(core.receive(superFrame, on: 1, at: 0, frameNumber: 2).decision == .drop(.oversize))
        // Segments of 1449 bytes would not fit a 1500-byte MTU.
        var jumboSegments = tso
        jumboSegments.segmentSize = 1449
        #expect(core.receive(superFrame, on: 1, at: 0, frameNumber: 3, offload: jumboSegments).decision == .drop(.oversize))
        // A header that does not fit the frame is dropped and counted, not forwarded.
        var broken = tso
        broken.checksumStart = 30_000
        #expect(core.receive(superFrame, on: 1, at: 0, frameNumber: 4, offload: broken).decision == .drop(.badOffload))
        let counters = try #require(core.counters(of: 1))
        #expect(counters.rxDrops.oversize == 2 && counters.rxDrops.badOffload == 1)
        #expect(counters.rxFrames == counters.unicastFrames + counters.floodedFrames + counters.rxDrops.total)
    }

    @Test func multicastAndZeroSourcesAreDroppedAndCounted() throws {
        var core = try threePortSwitch()
        let sources = [MACAddress.broadcast, MACAddress(0x01, 0x00, 0x5e, 0x00, 0x00, 0x01), MACAddress.zero]
        for source in sources {
            #expect(core.receive(frame(to: b, from: source), on: 1, at: 0, frameNumber: 1).decision == .drop(.badSource))
        }
        #expect(core.counters(of: 1)?.rxDrops.badSource == 3)
        #expect(core.macTable.count == 0)
        #expect(core.eventLog.count == 0)
    }

    /// The migration case: web01 talks from esx01's port, then the destination's RARP announce (a
    /// broadcast) arrives on esx02's port and moves the entry on that first frame, so the next
    /// frame for the VM goes to the new port.
    @Test func rarpAnnounceFromANewPortMovesTheStation() throws {
        var core = try threePortSwitch()
        let client = mac(0x100)
        _ = core.receive(frame(to: .broadcast, from: client), on: 1, at: 0, frameNumber: 1)
        _ = core.receive(frame(to: client, from: vm), on: 2, at: 1 * millisecond, frameNumber: 2)
        #expect(core.receive(frame(to: vm, from: client), on: 1, at: 2 * millisecond, frameNumber: 3).decision == .unicast(2))

        let announce = rarpAnnounce(for: vm)
        #expect(announce.count == 60)
        let result = core.receive(announce, on: 3, at: 500 * millisecond, frameNumber: 42)
        #expect(result.decision == .flood)
        let event = try #require(result.event)
        #expect(event.kind == .moved)
        #expect(event.mac == vm)
        #expect(event.oldPort == 2)
        #expect(event.newPort == 3)
        #expect(event.time == 500 * millisecond)
        #expect(event.frameNumber == 42)
        #expect(event.description == "#2 t=500000000ns station move 00:50:56:00:00:10 p2 -> p3 (frame 42)")
        #expect(Array(core.floodTargets(from: 3)) == [1, 2])
        #expect(core.receive(frame(to: vm, from: client), on: 1, at: 501 * millisecond, frameNumber: 43).decision == .unicast(3))
        #expect(core.macTable.entry(for: vm, at: 501 * millisecond)?.moves == 1)
    }

    @Test func knownDestinationAgesOutToFlood() throws {
        var core = try threePortSwitch(.init(macTable: .init(capacity: 16, agingTime: 10 * second)))
        _ = core.receive(frame(to: .broadcast, from: b), on: 2, at: 0, frameNumber: 1)
        #expect(core.receive(frame(to: b, from: a), on: 1, at: 10 * second, frameNumber: 2).decision == .unicast(2))
        #expect(core.receive(frame(to: b, from: a), on: 1, at: 10 * second + 1, frameNumber: 3).decision == .flood)
    }

    @Test func everyReceivedFrameIsForwardedOrCountedAsADrop() throws {
        var core = try threePortSwitch(.init(macTable: .init(capacity: 8, agingTime: second)))
        var random = SplitMix64(seed: 99)
        let stations = (0..<12).map { mac(0x200 + $0) }
        var now: UInt64 = 0
        var sentToPort: [PortID: UInt64] = [:]
        for n in 0..<5_000 {
            now += UInt64.random(in: 0..<(50 * millisecond), using: &random)
            let ingress = PortID(Int.random(in: 1...3, using: &random))
            if n % 400 == 0 { try core.setPort(PortID(Int.random(in: 1...3, using: &random)), up: n % 800 != 0) }
            let bytes: [UInt8] =
                switch Int.random(in: 0..<10, using: &random) {
                case 0: Array(frame(to: .broadcast, from: stations[0]).prefix(Int.random(in: 0..<14, using: &random)))
                case 1: frame(to: stations.randomElement(using: &random)!, from: .zero)
                case 2: frame(to: .broadcast, from: stations.randomElement(using: &random)!, payload: 1600)
                case 3: taggedFrame(to: stations.randomElement(using: &random)!, from: stations.randomElement(using: &random)!)
                case 4: rarpAnnounce(for: stations.randomElement(using: &random)!)
                default: frame(to: stations.randomElement(using: &random)!, from: stations.randomElement(using: &random)!)
                }
            let result = core.receive(bytes, on: ingress, at: now, frameNumber: UInt64(n))
            switch result.decision {
            case let .unicast(egress):
                #expect(egress != ingress)
                #expect(core.configuration(of: egress)?.isUp == true)
                sentToPort[egress, default: 0] += 1
                if n % 7 == 0 { core.recordDrop(port: egress, reason: .queueFull) } else { core.recordTransmit(port: egress, bytes: bytes.count) }
            case .flood:
                for egress in core.floodTargets(from: ingress) {
                    #expect(egress != ingress)
                    sentToPort[egress, default: 0] += 1
                    core.recordTransmit(port: egress, bytes: bytes.count)
                }
            case .drop:
                break
            }
        }
        var totalRx: UInt64 = 0
        var totalDropped: UInt64 = 0
        for port in core.portIDs {
            let counters = try #require(core.counters(of: port))
            #expect(counters.rxFrames == counters.rxAccounted, "port \(port): \(counters)")
            #expect(counters.txFrames + counters.txDrops.total == sentToPort[port, default: 0])
            totalRx += counters.rxFrames
            totalDropped += counters.rxDrops.total
            for reason in DropReason.allCases where reason != .queueFull {
                #expect(counters.txDrops[reason] == 0)
            }
            #expect(counters.rxDrops.queueFull == 0)
        }
        #expect(totalRx == 5_000)
        #expect(totalDropped > 0)
        #expect(core.macTable.invariantViolation() == nil)
    }

    @Test func portConfigurationErrorsSayWhatToDo() throws {
        var core = try threePortSwitch()
        #expect(throws: SwitchError.duplicatePort(2, existingName: "p2")) {
            try core.addPort(2, PortConfiguration(name: "again"))
        }
        #expect(throws: SwitchError.unknownPort(7, known: [1, 2, 3])) {
            try core.setPort(7, up: false)
        }
        #expect(throws: SwitchError.invalidMTU(port: 5, mtu: 0)) {
            try core.addPort(5, PortConfiguration(name: "bad", mtu: 0))
        }
        #expect(SwitchError.unknownPort(7, known: [1, 2, 3]).description
            == "port p7 does not exist on this switch (it has: p1, p2, p3)")
    }

    @Test func framesAndRecordsForUnknownPortsAreCounted() throws {
        var core = try threePortSwitch()
        #expect(core.receive(frame(to: b, from: a), on: 8, at: 0, frameNumber: 1).decision == .drop(.portDown))
        core.recordTransmit(port: 8, bytes: 60)
        core.recordDrop(port: 8, reason: .queueFull)
        #expect(core.unknownPortFrames == 3)
        #expect(core.macTable.count == 0)
    }

    /// Reads the frame relative to the buffer's own start: a frame in the middle of a larger
    /// buffer is handled like one at its start.
    @Test func readsFramesFromABufferSlice() throws {
        var core = try threePortSwitch()
        let bytes = [UInt8](repeating: 0xEE, count: 7) + frame(to: .broadcast, from: a) + [0xEE]
        let decision = bytes.withUnsafeBytes { buffer in
            core.receive(UnsafeRawBufferPointer(rebasing: buffer[7..<(7 + 60)]), on: 1, at: 0, frameNumber: 1).decision
        }
        #expect(decision == .flood)
        #expect(core.macTable.entry(for: a, at: 0)?.port == 1)
    }
}
