import Crypto
import L2Guest
import L2Wire
import Testing
@testable import L2Migration

/// A destination of `lanes` lanes (in clear) taken through hello, spec and its memory to pre-copy,
/// with its `specAccepted` nonce, and a lane hello maker bound to that handshake.
struct ReceivingDestination {
    var destination: MigrationDestination
    let destinationNonce: MigrationNonce

    init(lanes: Int, pages: Int = 16) throws {
        var settings = destinationSettings(encryption: .disabled)
        settings.lanes = lanes
        destination = MigrationDestination(settings: settings, now: 0)
        var actions = destination.receive(bytes: hello() + MigrationEncoder.encode(.spec(makeSpec(pages: pages))), now: 1)
        guard case let .allocateMemory(spec) = try #require(actions.first) else {
            throw RootCause("no allocation: \(actions)")
        }
        actions = destination.memoryAllocated(try GuestMemory(bytes: Int(spec.memoryBytes)), now: 2)
        let acceptance = try #require(actions.flatMap(\.sentMessages).compactMap(\.acceptance).first)
        destinationNonce = acceptance.nonce
    }

    func laneHello(_ lane: UInt16, id: MigrationID = testID, key: MigrationSecret = testSecret,
                   sourceNonce: MigrationNonce = testNonce) -> LaneHello {
        LaneHello(id: id, lane: lane, sourceNonce: sourceNonce, destinationNonce: destinationNonce, key: key)
    }
}

struct RootCause: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func page(filledWith byte: UInt8) -> [UInt8] { [UInt8](repeating: byte, count: 4096) }

/// The running digest of memory where `pages` hold these contents and every other page is zero.
func digest(pageCount: Int, _ pages: [Int: [UInt8]]) -> UInt64 {
    var running = PageHash.Running()
    for (index, bytes) in pages {
        let hash = bytes.withUnsafeBytes { PageHash.hash($0.baseAddress!) }
        running.replace(page: index, old: PageHash.zeroPage, new: hash)
    }
    return running.value
}

func roundEnd(_ round: UInt32, batches: [[UInt8]]) -> [UInt8] {
    let pages = try! batches.flatMap { try decodeAll($0) }.reduce(0) { total, message in
        guard case let .pageBatch(batch) = message else { return total }
        return total + batch.pageCount
    }
    return MigrationEncoder.encode(.roundEnd(round: round, pages: UInt64(pages), bytes: UInt64(batches.reduce(0) { $0 + $1.count })))
}

func switchover(finalRound: UInt32, pageCount: Int, digest: UInt64) -> [UInt8] {
    MigrationEncoder.encode(.switchover(SwitchoverState(finalRound: finalRound, vcpuState: [1], workloadState: [2], queuedFrames: [],
                                                        pageCount: UInt64(pageCount), memoryDigest: digest)))
}

extension Array where Element == DestinationAction {
    var verifiedDigest: UInt64? {
        flatMap(\.sentMessages).compactMap { message -> UInt64? in if case let .verified(digest) = message { digest } else { nil } }.first
    }
    var sentAbort: String? {
        flatMap(\.sentMessages).compactMap { message -> String? in if case let .abort(reason) = message { reason } else { nil } }.first
    }
}

@Suite("Several lanes: pages over more than one connection")
struct LaneTests {
    @Test("N lanes deliver an exact copy while the guest writes; every lane carries pages; the digests agree",
          arguments: [(2, MigrationEncryptionMode.disabled), (3, .opportunistic), (4, .opportunistic), (16, .disabled)])
    func lanesCopyExactly(lanes: Int, encryption: MigrationEncryptionMode) throws {
        let vm = try TestVM(pages: 4096, nonZero: 1500)
        var pipe = LanePipe(vm: vm, lanes: lanes, policy: ConvergencePolicy(downtimeTargetNanoseconds: 200_000),
                            workload: Workload(pagesPerMillisecond: 40, hotPages: 0..<800), encryption: encryption)
        let result = try pipe.runToCompletion()
        #expect(result.verified)
        #expect(memoriesEqual(vm.memory, pipe.destination.memory))
        #expect(pipe.admitted.count == lanes && pipe.refusals.isEmpty)
        #expect(result.rounds.count >= 3, "several rounds, so copies of one page crossed on different lanes")
        let laneStats = try #require(result.lanes)
        #expect(laneStats.map(\.lane) == Array(0..<lanes))
        #expect(laneStats.allSatisfy { $0.bytes > 100_000 }, "\(laneStats.map(\.bytes))")
        #expect(laneStats.reduce(0) { $0 + $1.bytes } == result.ram.transferred)
        #expect(laneStats[1].interface == "vmk2" && laneStats[lanes > 2 ? 2 : 0].interface == "vmk1")
        let first = try #require(result.rounds.first?.laneBytes)
        #expect(first.count == lanes && first.allSatisfy { $0 > 0 }, "round 1 spread over every lane: \(first)")
        // What the destination counted on each lane is what the source sent on it (a lane's hello,
        // which the source counts, reaches the destination's driver before the lane is admitted).
        let helloBytes = MigrationEncoder.encode(.laneHello(LaneHello(id: testID, lane: 1, mac: [UInt8](repeating: 0, count: 32)))).count
        let received = pipe.destination.laneBytesReceived
        #expect(received[0] == laneStats[0].bytes, "lane 0: \(received[0]) received, \(laneStats[0].bytes) sent")
        for lane in 1..<lanes {
            #expect(received[lane] + helloBytes == laneStats[lane].bytes, "lane \(lane): \(received[lane]) received, \(laneStats[lane].bytes) sent")
        }
        #expect(pipe.destination.phase == .committed)
    }

    @Test("lane 1 slow: lane 0 carries the round-1 marker, the final round and the switchover first; the destination waits, then verifies")
    func markerWaitsForTheOtherLanes() throws {
        let vm = try TestVM(pages: 2048, nonZero: 600)
        // Without switchover-ack: with it the source would wait for the destination, which waits for lane 1.
        var pipe = LanePipe(vm: vm, lanes: 2, workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1), encryption: .opportunistic,
                            switchoverAck: false)
        pipe.holds = { _, lane in lane == 1 }
        pipe.run(stopWhen: { $0.source.phase == .switchover && $0.wire[0].isEmpty })
        #expect(pipe.source.phase == .switchover, "the source sent everything, the switchover last")
        #expect(!pipe.wire[1].isEmpty, "pages are still in flight on lane 1")
        #expect(pipe.destination.waitsForLanes)
        #expect(pipe.destination.phase == .receiving)
        #expect(pipe.destinationActions.verifiedDigest == nil && pipe.resumedState == nil)
        pipe.holds = nil
        let result = try pipe.runToCompletion()
        #expect(result.verified)
        #expect(!pipe.destination.waitsForLanes)
        #expect(memoriesEqual(vm.memory, pipe.destination.memory))
    }

    @Test("the final round's pages in flight on lane 1 while lane 0 already carries its marker and the switchover")
    func switchoverWaitsForTheFinalRound() throws {
        let vm = try TestVM(pages: 4096, nonZero: 1000)
        // A generous target: switch over right after round 1, with hundreds of pages dirtied meanwhile,
        // so the final round is spread over both lanes.
        var pipe = LanePipe(vm: vm, lanes: 2, policy: ConvergencePolicy(downtimeTargetNanoseconds: 10_000_000_000),
                            workload: Workload(pagesPerMillisecond: 200, hotPages: 0..<2000), encryption: .opportunistic)
        // Held from the stun on (before it, the switchover-ack waits for every pre-copy page).
        pipe.holds = { pipe, lane in lane == 1 && (pipe.source.phase == .stunning || pipe.source.phase == .switchover) }
        pipe.run(stopWhen: { $0.source.phase == .switchover && $0.wire[0].isEmpty })
        #expect(pipe.source.phase == .switchover)
        let finalRound = UInt32(pipe.source.currentRound)
        #expect(finalRound >= 2)
        #expect(!pipe.wire[1].isEmpty, "final-round pages still in flight on lane 1")
        #expect(pipe.destination.waitsForLanes && pipe.destination.phase == .receiving)
        #expect(pipe.destinationActions.verifiedDigest == nil)
        pipe.holds = nil
        let result = try pipe.runToCompletion()
        #expect(result.verified)
        let final = try #require(result.rounds.last?.laneBytes)
        #expect(final[1] > 0, "lane 1 carried part of the final round: \(final)")
        #expect(memoriesEqual(vm.memory, pipe.destination.memory))
    }

    @Test("a stale copy from round 1 arriving after round 2's copy of the same page is dropped, contents and zero record alike")
    func staleCopyIsDropped() throws {
        var receiving = try ReceivingDestination(lanes: 2)
        #expect(receiving.destination.admitLane(receiving.laneHello(1), now: 3) == .admitted)
        // Round 2's copies of pages 5 (new contents) and 6 (now zero) arrive first, on lane 1…
        let newer = batchBytes(round: 2, [(5, page(filledWith: 0xBB)), (6, nil)])
        var actions = receiving.destination.receive(bytes: newer, lane: 1, now: 4)
        #expect(actions.isEmpty)
        // …then round 1's older copies of both, and page 7, on lane 0, with round 1's marker.
        let older = batchBytes(round: 1, [(5, page(filledWith: 0xAA)), (6, page(filledWith: 0xCC)), (7, page(filledWith: 0x77))])
        actions = receiving.destination.receive(bytes: older + roundEnd(1, batches: [older]), lane: 0, now: 5)
        #expect(actions.isEmpty, "\(actions)")
        let memory = try #require(receiving.destination.memory)
        #expect(memory.withPage(5) { $0.allSatisfy { $0 == 0xBB } }, "round 2's copy stays")
        #expect(memory.withPage(6) { $0.allSatisfy { $0 == 0 } }, "round 2's zero record stays")
        #expect(memory.withPage(7) { $0.allSatisfy { $0 == 0x77 } })
        // Round 2 already had its pages (from lane 1): its marker and the switchover are accepted and
        // the digest is that of the newest copies.
        let expected = digest(pageCount: 16, [5: page(filledWith: 0xBB), 7: page(filledWith: 0x77)])
        actions = receiving.destination.receive(bytes: roundEnd(2, batches: [newer]) + switchover(finalRound: 2, pageCount: 16, digest: expected),
                                                lane: 0, now: 6)
        #expect(actions.verifiedDigest == expected, "\(actions)")
        #expect(actions.contains { if case .resumeVM = $0 { true } else { false } })
    }

    @Test("a round marker that arrives before its pages on another lane waits; one that claims fewer pages than arrived fails")
    func markerCounts() throws {
        var receiving = try ReceivingDestination(lanes: 3)
        #expect(receiving.destination.admitLane(receiving.laneHello(2), now: 3) == .admitted)
        let onLane2 = batchBytes(round: 1, [(1, page(filledWith: 1)), (2, nil)])
        let onLane0 = batchBytes(round: 1, [(3, page(filledWith: 3))])
        var actions = receiving.destination.receive(bytes: onLane0 + roundEnd(1, batches: [onLane0, onLane2]), lane: 0, now: 4)
        #expect(actions.isEmpty && receiving.destination.waitsForLanes)
        actions = receiving.destination.receive(bytes: onLane2, lane: 2, now: 5)
        #expect(actions.isEmpty && !receiving.destination.waitsForLanes, "\(actions)")

        // A marker counting fewer pages than the lanes delivered is a broken stream: discarded.
        var other = try ReceivingDestination(lanes: 2)
        #expect(other.destination.admitLane(other.laneHello(1), now: 3) == .admitted)
        let early = batchBytes(round: 1, [(1, page(filledWith: 1))])
        _ = other.destination.receive(bytes: early, lane: 1, now: 4)
        actions = other.destination.receive(bytes: onLane0 + roundEnd(1, batches: [onLane0]), lane: 0, now: 5)
        #expect(actions.contains { $0.discardReason?.contains("round 1 ended with 1 pages") == true }, "\(actions)")
    }

    @Test("a lane may not send a round that is over, or anything but pages")
    func laneStreamRules() throws {
        var receiving = try ReceivingDestination(lanes: 2)
        #expect(receiving.destination.admitLane(receiving.laneHello(1), now: 3) == .admitted)
        let batch = batchBytes(round: 1, [(1, nil)])
        _ = receiving.destination.receive(bytes: batch + roundEnd(1, batches: [batch]), lane: 0, now: 4)
        var actions = receiving.destination.receive(bytes: batchBytes(round: 1, [(2, nil)]), lane: 1, now: 5)
        #expect(actions.contains { $0.discardReason?.contains("lane 1 sent a page batch for round 1 while receiving round 2") == true }, "\(actions)")

        receiving = try ReceivingDestination(lanes: 2)
        #expect(receiving.destination.admitLane(receiving.laneHello(1), now: 3) == .admitted)
        actions = receiving.destination.receive(bytes: MigrationEncoder.encode(.commit), lane: 1, now: 4)
        #expect(actions.contains { $0.discardReason?.contains("on lane 1") == true }, "\(actions)")
        #expect(actions.sentAbort != nil)
    }

    @Test("forged lane hellos are refused and change nothing: wrong key, another handshake, unknown id, lane ≥ N, lane 0, twice, too early")
    func forgedLaneHellos() throws {
        let vm = try TestVM(pages: 2048, nonZero: 500)
        // The destination allows 4 lanes; the source uses 2, so lanes 2 and 3 are free to forge.
        var pipe = LanePipe(vm: vm, lanes: 2, workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1),
                            encryption: .opportunistic, destinationLanes: 4)
        pipe.run(stopWhen: { $0.admitted.count == 2 && $0.source.phase == .precopy })
        #expect(pipe.admitted == [0, 1])
        let sourceNonce = pipe.source.nonce, destinationNonce = pipe.destination.nonce
        func forge(_ lane: UInt16, id: MigrationID = testID, key: MigrationSecret = testSecret,
                   sourceNonce: MigrationNonce? = nil) -> MigrationDestination.LaneAdmission {
            pipe.destination.admitLane(LaneHello(id: id, lane: lane, sourceNonce: sourceNonce ?? pipe.source.nonce,
                                                 destinationNonce: destinationNonce, key: key), now: pipe.clock)
        }
        func refusal(_ admission: MigrationDestination.LaneAdmission) -> String {
            if case let .refused(reason) = admission { reason } else { "admitted" }
        }
        #expect(refusal(forge(2, key: otherSecret)).contains("authentication failed"))
        #expect(refusal(forge(2, sourceNonce: MigrationNonce.random())).contains("authentication failed"), "a hello of another handshake")
        var tampered = LaneHello(id: testID, lane: 3, sourceNonce: sourceNonce, destinationNonce: destinationNonce, key: testSecret)
        tampered.lane = 2
        #expect(refusal(pipe.destination.admitLane(tampered, now: pipe.clock)).contains("authentication failed"), "the lane index is bound")
        #expect(refusal(forge(2, id: MigrationID(high: 9, low: 9))).contains("this destination receives migration"))
        #expect(refusal(forge(4)).contains("lane 4 does not exist: migration \(testID) has 4 lanes"))
        #expect(refusal(forge(0)).contains("lane 0 does not exist"))
        #expect(refusal(forge(1)).contains("lane 1 is already open"))
        var early = MigrationDestination(settings: { var s = destinationSettings(); s.lanes = 2; return s }(), now: 0)
        #expect(refusal(early.admitLane(LaneHello(id: testID, lane: 1, mac: []), now: 1)).contains("lanes open during pre-copy"))
        // The migration goes on undisturbed.
        #expect(pipe.destination.phase == .receiving)
        let result = try pipe.runToCompletion()
        #expect(result.verified && memoriesEqual(vm.memory, pipe.destination.memory))
        // A correct hello for a lane the source never opened would have been admitted: the refusals
        // above were for the reasons they give.
        var fresh = try ReceivingDestination(lanes: 4)
        #expect(fresh.destination.admitLane(fresh.laneHello(3), now: 3) == .admitted)
    }

    @Test("a lane lost before the switchover fails the migration on both sides, naming the lane; the VM stays on the source")
    func laneLostBeforeSwitchover() throws {
        let vm = try TestVM(pages: 2048, nonZero: 500)
        var pipe = LanePipe(vm: vm, lanes: 2, workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1))
        pipe.run(stopWhen: { $0.admitted.count == 2 && $0.source.phase == .precopy })
        pipe.handleSource(pipe.source.laneLost(1, reason: "was reset by the peer", now: pipe.clock))
        let result = try #require(pipe.result)
        #expect(result.status == .failed)
        #expect(result.error?.hasPrefix("lane 1 (vmk2) to the destination was reset by the peer during pre-copy round 1") == true, "\(result.error ?? "")")
        #expect(pipe.sourceActions.contains { $0.isResumeSource })
        pipe.deliver()
        #expect(pipe.destination.phase == .discarded, "the abort on lane 0 discarded the copy")

        // The destination sees it first: it aborts, and the source fails cleanly on its abort.
        var other = LanePipe(vm: vm, lanes: 3, workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1))
        other.run(stopWhen: { $0.admitted.count == 3 && $0.source.phase == .precopy })
        other.handleDestination(other.destination.laneLost(2, now: other.clock))
        #expect(other.destination.phase == .discarded)
        other.deliver()
        let failed = try #require(other.result)
        #expect(failed.status == .failed && failed.error?.contains("lane 2 from the source was lost") == true, "\(failed.error ?? "")")
        #expect(other.sourceActions.contains { $0.isResumeSource })
    }

    @Test("after the switchover message a lost lane changes nothing: lane 0 decides")
    func laneLostAfterSwitchover() throws {
        let vm = try TestVM(pages: 1024, nonZero: 300)
        var pipe = LanePipe(vm: vm, lanes: 2, workload: Workload(pagesPerMillisecond: 0, hotPages: 0..<1))
        pipe.run(stopWhen: { $0.source.phase == .switchover })
        #expect(pipe.source.laneLost(1, reason: "closed", now: pipe.clock).isEmpty)
        let result = try pipe.runToCompletion()
        #expect(result.verified)
        // The destination, once the VM resumed, ignores a lane closing too.
        #expect(pipe.destination.laneLost(1, now: pipe.clock).isEmpty)
        #expect(pipe.destination.phase == .committed)
    }

    @Test("one lane is one stream as before: no lane hello, one lane entry with every byte, no per-round lane figures")
    func oneLaneIsUnchanged() throws {
        let vm = try TestVM(pages: 1024, nonZero: 300)
        var pipe = Pipe(vm: vm, policy: ConvergencePolicy(), workload: Workload(pagesPerMillisecond: 5, hotPages: 0..<64),
                        encryption: .disabled)
        pipe.captureStreams = true
        let result = try pipe.runToCompletion()
        #expect(pipe.source.laneCount == 1 && pipe.source.lanesToOpen.isEmpty)
        let messages = try decodeAll(pipe.wireToDestination, pageCount: 1024)
        #expect(!messages.contains { $0.type == .laneHello })
        let lanes = try #require(result.lanes)
        #expect(lanes.count == 1 && lanes[0].lane == 0 && lanes[0].interface == nil && lanes[0].bytes == result.ram.transferred)
        #expect(result.rounds.allSatisfy { $0.laneBytes == nil })
    }

    @Test("golden bytes of a lane hello; every truncation is refused")
    func laneHelloCodec() throws {
        let hello = LaneHello(id: testID, lane: 3, mac: [UInt8](0..<32))
        let bytes = MigrationEncoder.encode(.laneHello(hello))
        #expect(bytes == [0x4C, 0x32, 0x4D, 0x56, 4, 17, 0, 0, 0, 0, 0, 50,
                          0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10,
                          0, 3] + [UInt8](0..<32))
        #expect(try decodeAll(bytes) == [.laneHello(hello)])
        let slice = ([0xEE] + bytes)[1...]
        var decoder = MigrationDecoder()
        decoder.append(slice)
        #expect(try decoder.next() == .laneHello(hello))
        for length in 0..<50 {
            let cut = header(.laneHello, length: length) + Array(bytes[12..<12 + length])
            #expect(decodeError(cut) != nil, "a \(length)-byte lane hello")
        }
        #expect(MigrationMessageType.laneHello.description == "lane-hello")
    }

    @Test("each lane seals with its own keys: lane 0 is the session's, no two lanes share one")
    func laneKeys() throws {
        let other = MigrationNonce(bytes: (0..<16).map { UInt8($0) })!
        func keys(_ lane: Int) -> [[UInt8]] {
            let pair = SecureChannel.deriveKeys(secret: testSecret, id: testID, sourceNonce: testNonce, destinationNonce: other, lane: lane)
            return [pair.sourceToDestination, pair.destinationToSource].map { $0.withUnsafeBytes { Array($0) } }
        }
        let session = SecureChannel.deriveKeys(secret: testSecret, id: testID, sourceNonce: testNonce, destinationNonce: other)
        #expect(keys(0) == [session.sourceToDestination, session.destinationToSource].map { $0.withUnsafeBytes { Array($0) } })
        let all = (0..<16).flatMap(keys)
        #expect(Set(all).count == all.count, "32 distinct keys for 16 lanes")
        var lane1 = SecureChannel(secret: testSecret, id: testID, sourceNonce: testNonce, destinationNonce: other, role: .source, lane: 1)
        var sealed: [UInt8] = []
        try lane1.seal([1, 2, 3], into: &sealed)
        var lane2 = SecureChannel(secret: testSecret, id: testID, sourceNonce: testNonce, destinationNonce: other, role: .destination, lane: 2)
        var opened: [UInt8] = []
        #expect(throws: SecureChannelError.authenticationFailed(record: 0)) { try lane2.open(sealed, into: &opened) }
        var receiving = SecureChannel(secret: testSecret, id: testID, sourceNonce: testNonce, destinationNonce: other, role: .destination, lane: 1)
        try receiving.open(sealed, into: &opened)
        #expect(opened == [1, 2, 3])
    }
}
