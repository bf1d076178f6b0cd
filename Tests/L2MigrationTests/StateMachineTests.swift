import L2Guest
import Testing
@testable import L2Migration

extension DestinationAction {
    var discardReason: String? { if case let .discard(reason) = self { reason } else { nil } }
    var isAllocate: Bool { if case .allocateMemory = self { true } else { false } }
    var isAwait: Bool { if case .awaitCoordinator = self { true } else { false } }
    var sentMessages: [MigrationMessage] {
        guard case let .send(bytes) = self else { return [] }
        return (try? decodeAll(bytes, pageCount: nil)) ?? []
    }
}

extension SourceAction {
    var isResumeSource: Bool { if case .resumeSource = self { true } else { false } }
    var isAwait: Bool { if case .awaitCoordinator = self { true } else { false } }
    var isFailed: Bool { if case .failed = self { true } else { false } }
}

func hello(secret: MigrationSecret = testSecret, id: MigrationID = testID,
           encryption: MigrationEncryptionMode = .opportunistic, nonce: MigrationNonce = testNonce) -> [UInt8] {
    MigrationEncoder.encode(.hello(id: id, protocolVersion: UInt16(MigrationWire.version), authentication: HelloAuthentication(
        id: id, encryption: encryption, nonce: nonce, key: secret)))
}

extension MigrationMessage {
    var acceptance: SpecAcceptance? { if case let .specAccepted(acceptance) = self { acceptance } else { nil } }
}

@Suite("Destination validation")
struct DestinationValidationTests {
    @Test("a hello made with another key is refused and nothing is created")
    func wrongSecret() {
        var destination = MigrationDestination(settings: destinationSettings(), now: 0)
        let actions = destination.receive(bytes: hello(secret: otherSecret) + MigrationEncoder.encode(.spec(makeSpec(pages: 16))), now: 1)
        #expect(actions.contains { $0.discardReason?.contains("authentication failed") == true })
        #expect(!actions.contains { $0.isAllocate })
        #expect(actions.flatMap(\.sentMessages).contains { if case .abort = $0 { true } else { false } })
        #expect(destination.phase == .discarded && destination.memory == nil && destination.spec == nil)
        // Anything after that is ignored.
        #expect(destination.receive(bytes: hello(), now: 2).isEmpty)
    }

    @Test("a hello for another migration is refused")
    func wrongID() {
        var destination = MigrationDestination(settings: destinationSettings(), now: 0)
        let actions = destination.receive(bytes: hello(id: MigrationID(high: 1, low: 2)), now: 1)
        #expect(actions.contains { $0.discardReason?.contains("coordinator announced") == true })
    }

    @Test("port group labels must match exactly, case included")
    func portGroupCase() {
        var destination = MigrationDestination(settings: destinationSettings(portGroups: ["Production"]), now: 0)
        let actions = destination.receive(bytes: hello() + MigrationEncoder.encode(.spec(makeSpec(pages: 16, portGroup: "production"))), now: 1)
        let reason = actions.flatMap(\.sentMessages).compactMap { message -> String? in
            if case let .specRejected(reason) = message { reason } else { nil }
        }.first
        #expect(reason == "port group \"production\" not found on this host (it has: \"Production\"); labels must match exactly, case included")
        #expect(!actions.contains { $0.isAllocate })
        #expect(destination.phase == .discarded)
    }

    @Test("memory over the host's limit, a foreign datastore and a bad page size are refused")
    func specLimits() {
        var spec = makeSpec(pages: 1024)
        var destination = MigrationDestination(settings: destinationSettings(maxMemory: 1 << 20), now: 0)
        var actions = destination.receive(bytes: hello() + MigrationEncoder.encode(.spec(spec)), now: 1)
        #expect(actions.contains { $0.discardReason?.contains("at most 1048576") == true })

        spec = makeSpec(pages: 16)
        spec.datastore = "local-esx01"
        destination = MigrationDestination(settings: destinationSettings(), now: 0)
        actions = destination.receive(bytes: hello() + MigrationEncoder.encode(.spec(spec)), now: 1)
        #expect(actions.contains { $0.discardReason?.contains("shared storage") == true })

        spec = makeSpec(pages: 16)
        spec.pageSize = 8192
        destination = MigrationDestination(settings: destinationSettings(), now: 0)
        actions = destination.receive(bytes: hello() + MigrationEncoder.encode(.spec(spec)), now: 1)
        #expect(actions.contains { $0.discardReason?.contains("page size 8192") == true })
    }

    @Test("a valid spec asks for memory, then accepts")
    func accept() throws {
        var destination = MigrationDestination(settings: destinationSettings(), now: 0)
        let actions = destination.receive(bytes: hello() + MigrationEncoder.encode(.spec(makeSpec(pages: 16))), now: 1)
        #expect(actions == [.allocateMemory(makeSpec(pages: 16))])
        let accepted = destination.memoryAllocated(try GuestMemory(pageCount: 16), now: 2)
        let acceptance = try #require(accepted.flatMap(\.sentMessages).first?.acceptance)
        #expect(accepted.count == 1)
        #expect(acceptance.cipher == .aes256GCM)
        #expect(acceptance.isValid(id: testID, sourceNonce: testNonce, spec: makeSpec(pages: 16), key: testSecret))
        #expect(!acceptance.isValid(id: testID, sourceNonce: testNonce, spec: makeSpec(pages: 17), key: testSecret))
        #expect(destination.phase == .receiving)
        #expect(destination.currentReport.encryption == .aes256GCM)
    }

    @Test("messages out of order are rejected", arguments: [
        MigrationEncoder.encode(.specAccepted(SpecAcceptance(cipher: .unencrypted, nonce: testNonce, mac: []))),
        MigrationEncoder.encode(.commit),
        MigrationEncoder.encode(.resumed(atNanoseconds: 5, arrivedAtNanoseconds: 4, verifiedAtNanoseconds: 4)),
        MigrationEncoder.encode(.spec(makeSpec(pages: 16))),
        MigrationEncoder.encode(.roundEnd(round: 1, pages: 0, bytes: 0)),
    ])
    func outOfOrderBeforeHello(bytes: [UInt8]) {
        var destination = MigrationDestination(settings: destinationSettings(), now: 0)
        let actions = destination.receive(bytes: bytes, now: 1)
        #expect(actions.contains { $0.discardReason?.contains("out of order") == true })
        #expect(destination.phase == .discarded)
    }

    @Test("a page batch before the spec is accepted is rejected; a wrong round is rejected")
    func pagesOutOfOrder() throws {
        var destination = MigrationDestination(settings: destinationSettings(), now: 0)
        var actions = destination.receive(bytes: hello() + batchBytes([(1, nil)]), now: 1)
        #expect(actions.contains { $0.discardReason != nil })

        // (In clear, to reach the round checks with hand-made batches.)
        destination = MigrationDestination(settings: destinationSettings(encryption: .disabled), now: 0)
        _ = destination.receive(bytes: hello() + MigrationEncoder.encode(.spec(makeSpec(pages: 16))), now: 1)
        _ = destination.memoryAllocated(try GuestMemory(pageCount: 16), now: 2)
        actions = destination.receive(bytes: batchBytes(round: 2, [(1, nil)]), now: 3)
        #expect(actions.contains { $0.discardReason?.contains("round 2 while receiving round 1") == true })

        destination = MigrationDestination(settings: destinationSettings(encryption: .disabled), now: 0)
        _ = destination.receive(bytes: hello() + MigrationEncoder.encode(.spec(makeSpec(pages: 16))), now: 1)
        _ = destination.memoryAllocated(try GuestMemory(pageCount: 16), now: 2)
        actions = destination.receive(bytes: batchBytes([(1, nil)]) + MigrationEncoder.encode(.roundEnd(round: 1, pages: 5, bytes: 0)), now: 3)
        #expect(actions.contains { $0.discardReason?.contains("inconsistent") == true })
        #expect(destination.memory == nil)
    }

    @Test("a zero range clears the pages stored before inside it, and the digest follows")
    func zeroRangeClearsStoredPages() throws {
        var destination = MigrationDestination(settings: destinationSettings(encryption: .disabled), now: 0)
        _ = destination.receive(bytes: hello() + MigrationEncoder.encode(.spec(makeSpec(pages: 256))), now: 1)
        let memory = try GuestMemory(pageCount: 256)
        _ = destination.memoryAllocated(memory, now: 2)
        var filled: [Int: [UInt8]] = [:]
        for page in [5, 63, 70, 71, 100, 136, 200] { filled[page] = .init(repeating: UInt8(page), count: 4096) }
        func round(_ number: UInt32, _ records: [(pages: Range<Int>, contents: [UInt8]?)]) -> [UInt8] {
            var bytes: [UInt8] = []
            var writer = PageBatchWriter()
            writer.begin(round: number, in: &bytes)
            for record in records {
                if let contents = record.contents {
                    contents.withUnsafeBytes { _ = writer.appendPage(page: record.pages.lowerBound, contents: $0.baseAddress!, in: &bytes) }
                } else {
                    writer.appendZero(pages: record.pages, in: &bytes)
                }
            }
            writer.finish(in: &bytes)
            let pages = records.reduce(0) { $0 + $1.pages.count }
            return bytes + MigrationEncoder.encode(.roundEnd(round: number, pages: UInt64(pages), bytes: UInt64(bytes.count)))
        }
        // Round 1: every page, the filled ones with contents, the rest in zero ranges.
        var actions = destination.receive(bytes: round(1, [
            (0..<5, nil), (5..<6, filled[5]), (6..<63, nil), (63..<64, filled[63]), (64..<70, nil),
            (70..<71, filled[70]), (71..<72, filled[71]), (72..<136, nil), (136..<137, filled[136]),
            (137..<200, nil), (200..<201, filled[200]), (201..<256, nil),
        ]), now: 3)
        #expect(actions.allSatisfy { $0.discardReason == nil })
        // Round 2: pages 64..<136 were zeroed (70 and 71 among them; 63 and 136, right outside, were
        // not), page 100 written.
        actions = destination.receive(bytes: round(2, [(64..<100, nil), (100..<101, filled[100]), (101..<136, nil)]), now: 4)
        #expect(actions.allSatisfy { $0.discardReason == nil })
        #expect(memory.withPage(70) { $0.allSatisfy { $0 == 0 } } && memory.withPage(71) { $0.allSatisfy { $0 == 0 } })
        let kept = [5, 63, 100, 136, 200]
        for page in kept { #expect(memory.withPage(page) { Array($0) } == filled[page], "page \(page)") }
        // The source's digest over what it sent last for each page is the destination's.
        var hashes = [UInt64](repeating: PageHash.zeroPage, count: 256)
        for page in kept { hashes[page] = filled[page]!.withUnsafeBytes { PageHash.hash($0.baseAddress!) } }
        let state = SwitchoverState(finalRound: 2, vcpuState: [1], workloadState: [], queuedFrames: [], pageCount: 256,
                                    memoryDigest: PageHash.Running.of(hashes))
        actions = destination.receive(bytes: MigrationEncoder.encode(.switchover(state)), now: 5)
        #expect(actions.contains(.resumeVM(state)), "\(actions)")
    }

    @Test("silence before the resume times out and discards")
    func idleTimeout() {
        var destination = MigrationDestination(settings: destinationSettings(), now: 0)
        _ = destination.receive(bytes: hello(), now: 1)
        #expect(destination.tick(now: 5_000_000_000).isEmpty)
        let actions = destination.tick(now: 20_000_000_000)
        #expect(actions.contains { $0.discardReason?.contains("no data") == true })
    }
}

@Suite("Connection loss in each phase")
struct ConnectionLossTests {
    func pipe(pages: Int = 256) throws -> Pipe {
        Pipe(vm: try TestVM(pages: pages, nonZero: 40), policy: ConvergencePolicy(downtimeTargetNanoseconds: 1),
             workload: Workload(pagesPerMillisecond: 200, hotPages: 0..<64))
    }

    @Test("during setup the VM stays on the source and the destination had nothing")
    func duringSetup() throws {
        var pipe = try pipe()
        pipe.handleSource(pipe.source.start(now: pipe.clock))
        let actions = pipe.source.connectionLost(now: pipe.clock)
        #expect(actions.contains { $0.isResumeSource } && actions.contains { $0.isFailed })
        #expect(pipe.destination.connectionLost(now: pipe.clock).contains { $0.discardReason != nil })
        #expect(pipe.destination.memory == nil)
    }

    @Test("during pre-copy: source resumes, destination discards")
    func duringPrecopy() throws {
        var pipe = try pipe()
        pipe.run(stopWhen: { $0.source.phase == .precopy && $0.source.currentRound == 2 })
        #expect(pipe.source.phase == .precopy)
        let source = pipe.source.connectionLost(now: pipe.clock)
        #expect(source.contains { $0.isResumeSource })
        #expect(!source.contains { $0.isAwait })
        let destination = pipe.destination.connectionLost(now: pipe.clock)
        #expect(destination.contains { $0.discardReason != nil })
        #expect(pipe.destination.memory == nil)
        #expect(pipe.vm.matchesShadow)
    }

    @Test("stunned but before the switchover is sent: the source resumes")
    func duringStun() throws {
        var pipe = try pipe()
        pipe.handleSource(pipe.source.start(now: pipe.clock))
        var buffer: [UInt8] = []
        var stun = false
        while !stun {
            // The destination's answers (its switchover-ack among them) reach the source unhandled.
            pipe.pumpToDestination()
            let answers = pipe.source.receive(bytes: pipe.toSource, now: pipe.clock)
            pipe.toSource.removeAll()
            buffer.removeAll()
            let actions = answers + pipe.source.produce(into: &buffer, budget: 1 << 20, now: pipe.clock)
            pipe.toDestination += buffer
            for case let .send(bytes) in actions { pipe.toDestination += bytes }
            stun = actions.contains(.stun)
            #expect(!actions.contains { $0.isFailed })
        }
        #expect(pipe.source.phase == .stunning)
        let actions = pipe.source.connectionLost(now: pipe.clock)
        #expect(actions.contains { $0.isResumeSource })
        #expect(pipe.source.stunned(vcpuState: [], workloadState: [], queuedFrames: [], now: pipe.clock).isEmpty)
    }

    @Test("after the switchover is sent and before resumed: the source awaits the coordinator")
    func afterSwitchover() throws {
        var pipe = try pipe()
        pipe.run(stopWhen: { $0.source.phase == .switchover })
        #expect(pipe.source.phase == .switchover)
        let actions = pipe.source.connectionLost(now: pipe.clock)
        #expect(actions.count == 1 && actions[0].isAwait)
        #expect(!actions.contains { $0.isResumeSource })
        #expect(pipe.source.result(now: pipe.clock).status == .awaitingCoordinator)
        // The destination never got the switchover: it discards.
        #expect(pipe.destination.connectionLost(now: pipe.clock).contains { $0.discardReason != nil })
    }

    @Test("the switchover timeout also hands the decision to the coordinator")
    func switchoverTimeout() throws {
        var pipe = try pipe()
        pipe.run(stopWhen: { $0.source.phase == .switchover })
        #expect(pipe.source.tick(now: pipe.clock + 1_000).isEmpty)
        let actions = pipe.source.tick(now: pipe.clock + 11_000_000_000)
        #expect(actions.count == 1 && actions[0].isAwait)
    }

    @Test("after the destination resumed and before commit: the destination awaits the coordinator")
    func afterResume() throws {
        var pipe = try pipe()
        pipe.run(stopWhen: { $0.source.phase == .switchover })
        pipe.pumpToDestination()
        #expect(pipe.destination.phase == .running)
        // The source has not heard "resumed" yet (it is still queued in the pipe).
        #expect(pipe.source.phase == .switchover)
        let destination = pipe.destination.connectionLost(now: pipe.clock)
        #expect(destination.count == 1 && destination[0].isAwait)
        #expect(pipe.destination.memory != nil)
        let source = pipe.source.connectionLost(now: pipe.clock)
        #expect(source.count == 1 && source[0].isAwait)
    }

    @Test("after commit the loss changes nothing")
    func afterCommit() throws {
        var pipe = try pipe()
        pipe.run()
        #expect(pipe.destination.phase == .committed)
        #expect(pipe.destination.connectionLost(now: pipe.clock).isEmpty)
        #expect(pipe.source.connectionLost(now: pipe.clock).isEmpty)
    }

    @Test("setup timeout and cancel leave the VM on the source")
    func setupTimeoutAndCancel() throws {
        var pipe = try pipe()
        _ = pipe.source.start(now: pipe.clock)
        #expect(pipe.source.tick(now: pipe.clock + 1_000).isEmpty)
        let actions = pipe.source.tick(now: pipe.clock + 11_000_000_000)
        #expect(actions.contains { $0.isResumeSource })
        #expect(pipe.source.result(now: pipe.clock).error?.contains("did not answer") == true)

        var other = try self.pipe()
        other.run(stopWhen: { $0.source.phase == .precopy })
        let cancel = other.source.cancel(reason: "user", now: other.clock)
        #expect(cancel.contains { $0.isResumeSource })
        #expect(other.source.result(now: other.clock).status == .cancelled)
    }

    @Test("garbage from the destination during pre-copy fails cleanly; after switchover it awaits the coordinator")
    func garbageFromDestination() throws {
        var clear = Pipe(vm: try TestVM(pages: 256, nonZero: 40), policy: ConvergencePolicy(downtimeTargetNanoseconds: 1),
                         workload: Workload(pagesPerMillisecond: 200, hotPages: 0..<64),
                         destination: destinationSettings(encryption: .disabled))
        clear.run(stopWhen: { $0.source.phase == .precopy })
        var actions = clear.source.receive(bytes: [1, 2, 3, 4, 5], now: clear.clock)
        #expect(actions.contains { $0.isResumeSource })
        #expect(clear.source.result(now: clear.clock).error?.contains("bad magic") == true)

        // Encrypted: the same garbage is not a record.
        var pipe = try pipe()
        pipe.run(stopWhen: { $0.source.phase == .precopy })
        actions = pipe.source.receive(bytes: [1, 2, 3, 4, 5], now: pipe.clock)
        #expect(actions.contains { $0.isResumeSource })
        #expect(pipe.source.result(now: pipe.clock).error?.contains("encrypted record 0 announces") == true)

        var other = try self.pipe()
        other.run(stopWhen: { $0.source.phase == .switchover })
        actions = other.source.receive(bytes: MigrationEncoder.encode(.commit), now: other.clock)
        #expect(actions.count == 1 && actions[0].isAwait)
    }
}
