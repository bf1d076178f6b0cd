import L2Guest

/// What a destination host accepts, from the coordinator (id, secret: the per-migration key) and the
/// host (limits, labels, encryption mode).
public struct MigrationDestinationSettings: Sendable {
    public var migrationID: MigrationID
    public var secret: MigrationSecret
    /// This host's encryption mode; with the source's it decides the stream cipher.
    public var encryption: MigrationEncryptionMode
    /// The most memory a VM may ask for on this host.
    public var maxMemoryBytes: UInt64
    /// The host's port group labels; the VM's must be among them exactly, case included.
    public var portGroups: Set<String>
    /// The datastores this host mounts; nil leaves the check to the coordinator.
    public var datastores: Set<String>?
    /// Silence from the source longer than this before the VM resumes discards the migration.
    public var idleTimeoutNanoseconds: UInt64

    public init(migrationID: MigrationID, secret: MigrationSecret, encryption: MigrationEncryptionMode = .opportunistic,
                maxMemoryBytes: UInt64, portGroups: Set<String>, datastores: Set<String>? = nil,
                idleTimeoutNanoseconds: UInt64 = 10_000_000_000) {
        self.migrationID = migrationID
        self.secret = secret
        self.encryption = encryption
        self.maxMemoryBytes = maxMemoryBytes
        self.portGroups = portGroups
        self.datastores = datastores
        self.idleTimeoutNanoseconds = idleTimeoutNanoseconds
    }
}

/// What the destination's driver must do, in order.
public enum DestinationAction: Sendable, Equatable {
    /// Write these bytes to the migration connection.
    case send([UInt8])
    /// Create zero-filled memory for the VM (`GuestMemory(bytes:)`), then call `memoryAllocated` (or
    /// `memoryAllocationFailed`).
    case allocateMemory(MigrationSpec)
    /// The copy is proved: attach the VM to its port group, load this state, deliver the queued frames,
    /// run it, then call `resumed(now:)`.
    case resumeVM(SwitchoverState)
    /// A frame the source forwarded for the running VM.
    case deliverFrame([UInt8])
    /// Free everything this migration created; the VM stays (or goes back) to the source.
    case discard(reason: String)
    /// The VM runs here but the source has not committed: keep it running and ask the coordinator.
    case awaitCoordinator(reason: String)
    /// The source committed: the VM is this host's now.
    case completed(DestinationReport)
}

/// Where a migration destination is.
public enum DestinationPhase: String, Sendable, Equatable {
    case awaitingHello, awaitingSpec, allocating, receiving, resuming, running, committed, discarded, awaitingCoordinator
}

/// What the destination received.
public struct DestinationReport: Codable, Sendable, Equatable {
    public var vmName: String
    public var pagesReceived: Int
    public var zeroPages: Int
    public var normalPages: Int
    public var bytesReceived: Int
    public var rounds: Int
    public var digest: UInt64
    /// The resume time the destination reported (ns).
    public var resumedAt: UInt64?
    /// The stream's protection as negotiated (`"aes-256-gcm"` or `"none"`); nil before the hello was accepted.
    public var encryption: MigrationStreamCipher?

    enum CodingKeys: String, CodingKey {
        case vmName = "vm-name", pagesReceived = "pages-received", zeroPages = "zero-pages",
             normalPages = "normal-pages", bytesReceived = "bytes-received", rounds, digest,
             resumedAt = "resumed-at", encryption
    }
}

/// The receiving side of a pre-copy live migration, sans I/O: it validates the hello and the spec,
/// applies page batches to the VM's new memory, proves the copy at switchover and hands the VM over.
///
/// Driver loop: `receive(bytes:now:)` with whatever arrived, perform the actions in order
/// (`.allocateMemory` → `memoryAllocated`, `.resumeVM` → resume, then `resumed(now:)`), `tick(now:)`
/// now and then, `connectionLost(now:)` on EOF or error. Before the VM resumes every failure ends in
/// `.discard`; after it, in `.awaitCoordinator` (never two running copies, never a silent kill).
///
/// The hello must prove the migration key (HMAC-SHA256, checked in constant time) before anything is
/// looked at; a second hello is refused. Encryption is internal: once `specAccepted` (clear) chose
/// AES-256-GCM, `receive` takes sealed records and every `.send` after it is sealed.
public struct MigrationDestination: Sendable {
    public let settings: MigrationDestinationSettings
    public private(set) var phase: DestinationPhase = .awaitingHello
    public private(set) var spec: MigrationSpec?
    /// The VM's memory, once allocated (nil again after a discard).
    public private(set) var memory: GuestMemory?

    private var decoder = MigrationDecoder()
    private var receivedHashes: [UInt64] = []
    /// The running digest of `receivedHashes`.
    private var runningDigest = PageHash.Running()
    /// One bit per page that holds bytes written by this migration (fresh memory reads as zero, so a
    /// zero record for a page never written costs nothing: no memset, no page fault).
    private var storedPages: [UInt64] = []
    private var lastActivity: UInt64
    private var expectedRound: UInt32 = 1
    private var roundPages = 0
    private var roundBytes = 0
    private var report = DestinationReport(vmName: "", pagesReceived: 0, zeroPages: 0, normalPages: 0,
                                           bytesReceived: 0, rounds: 0, digest: 0, resumedAt: nil, encryption: nil)
    /// The destination's handshake nonce (in `specAccepted`).
    private let nonce = MigrationNonce.random()
    /// The source's nonce, from its accepted hello.
    private var sourceNonce: MigrationNonce?
    /// The cipher chosen when the hello was accepted; in force from `specAccepted` on.
    private var cipher: MigrationStreamCipher?
    /// Opens what the source sends and seals what the destination sends, once in force.
    private var channel: SecureChannel?
    /// Plaintext opened from received records.
    private var opened: [UInt8] = []
    /// Sealing failed (the record counter ran out): the migration must stop.
    private var sealFailure: SecureChannelError?

    public init(settings: MigrationDestinationSettings, now: UInt64) {
        self.settings = settings
        lastActivity = now
    }

    /// Bytes received from the source (sealed records once AES-256-GCM is in force).
    public mutating func receive(bytes: some Collection<UInt8>, now: UInt64) -> [DestinationAction] {
        guard phase != .discarded && phase != .awaitingCoordinator else { return [] }
        lastActivity = now
        report.bytesReceived += bytes.count
        let channelError = decoder.append(bytes, through: &channel, scratch: &opened)
        // Records opened before a bad one are valid: their messages count first.
        var actions = decodeReceived(now: now)
        if let channelError, phase != .discarded && phase != .awaitingCoordinator {
            actions += protocolFailure(.secureChannel(channelError))
        }
        return actions
    }

    private mutating func decodeReceived(now: UInt64) -> [DestinationAction] {
        var actions: [DestinationAction] = []
        while phase != .discarded && phase != .awaitingCoordinator {
            let message: MigrationMessage
            do {
                guard let next = try decoder.next() else { break }
                message = next
            } catch {
                actions += protocolFailure(error)
                break
            }
            actions += handle(message, now: now)
        }
        return actions
    }

    /// The driver created the VM's memory (zero-filled, `spec.memoryBytes` long).
    public mutating func memoryAllocated(_ memory: GuestMemory, now: UInt64) -> [DestinationAction] {
        guard phase == .allocating, let spec else { return [] }
        guard UInt64(memory.byteCount) == spec.memoryBytes else {
            return memoryAllocationFailed(reason: "allocated \(memory.byteCount) bytes, the spec needs \(spec.memoryBytes)", now: now)
        }
        self.memory = memory
        decoder.pageCount = memory.pageCount
        receivedHashes = [UInt64](repeating: PageHash.zeroPage, count: memory.pageCount)
        runningDigest = PageHash.Running()
        storedPages = [UInt64](repeating: 0, count: (memory.pageCount + 63) / 64)
        phase = .receiving
        lastActivity = now
        guard let sourceNonce, let cipher else { return [] }
        let acceptance = SpecAcceptance(id: settings.migrationID, cipher: cipher, sourceNonce: sourceNonce, nonce: nonce,
                                        spec: spec, key: settings.secret)
        let accepted = MigrationEncoder.encode(.specAccepted(acceptance))
        guard cipher == .aes256GCM else { return [.send(accepted)] }
        // From here on both directions are sealed. A legitimate source sends nothing between the spec and
        // our answer; anything buffered is treated as sealed (and fails unless it is).
        var secure = SecureChannel(secret: settings.secret, id: settings.migrationID, sourceNonce: sourceNonce,
                                   destinationNonce: nonce, role: .destination)
        do throws(SecureChannelError) {
            try decoder.startDecrypting(with: &secure)
        } catch {
            channel = secure
            return [.send(accepted)] + protocolFailure(.secureChannel(error))
        }
        channel = secure
        return [.send(accepted)] + decodeReceived(now: now)
    }

    /// The driver could not create the VM's memory.
    public mutating func memoryAllocationFailed(reason: String, now: UInt64) -> [DestinationAction] {
        guard phase == .allocating else { return [] }
        let text = "could not allocate the VM's memory: \(reason)"
        return send(.specRejected(reason: text)) + discard(text)
    }

    /// The driver resumed the VM (after `.resumeVM`): tells the source, with this time.
    public mutating func resumed(now: UInt64) -> [DestinationAction] {
        guard phase == .resuming else { return [] }
        phase = .running
        report.resumedAt = now
        return send(.resumed(atNanoseconds: now))
    }

    /// The connection closed or failed.
    public mutating func connectionLost(now: UInt64) -> [DestinationAction] {
        switch phase {
        case .awaitingHello, .awaitingSpec, .allocating, .receiving:
            return discard("connection to the source lost before the VM resumed here")
        case .resuming, .running:
            return awaitCoordinator("connection to the source lost after the VM resumed here and before the source committed")
        case .committed, .discarded, .awaitingCoordinator:
            return []
        }
    }

    /// Checks the idle timeout before the VM resumes.
    public mutating func tick(now: UInt64) -> [DestinationAction] {
        if let sealFailure, phase != .discarded && phase != .awaitingCoordinator && phase != .committed {
            return protocolFailure(.secureChannel(sealFailure))
        }
        switch phase {
        case .awaitingHello, .awaitingSpec, .allocating, .receiving:
            guard elapsed(lastActivity, now) > settings.idleTimeoutNanoseconds else { return [] }
            let reason = "no data from the source for \(milliseconds(settings.idleTimeoutNanoseconds)) ms"
            return send(.abort(reason: reason)) + discard(reason)
        default:
            return []
        }
    }

    /// What was received so far.
    public var currentReport: DestinationReport { report }

    // MARK: - Internals

    private var phaseDescription: String {
        switch phase {
        case .awaitingHello: "waiting for hello"
        case .awaitingSpec: "waiting for the spec"
        case .allocating: "allocating memory"
        case .receiving: "receiving round \(expectedRound)"
        case .resuming: "resuming the VM"
        case .running: "running the VM before commit"
        default: phase.rawValue
        }
    }

    private mutating func handle(_ message: MigrationMessage, now: UInt64) -> [DestinationAction] {
        switch (phase, message) {
        case let (.awaitingHello, .hello(id, version, authentication)):
            guard id == settings.migrationID else {
                return reject("hello for migration \(id), but the coordinator announced migration \(settings.migrationID)")
            }
            guard version == UInt16(MigrationWire.version) else {
                return reject("hello speaks protocol version \(version), this host speaks \(MigrationWire.version)")
            }
            guard authentication.isValid(id: id, key: settings.secret) else {
                return reject("authentication failed: the hello's code was not made with the key the coordinator gave this host for migration \(id)")
            }
            switch MigrationEncryptionMode.negotiate(source: authentication.encryption, destination: settings.encryption) {
            case let .failure(failure):
                let reason = "\(failure.reason) (source \(authentication.encryption), destination \(settings.encryption))"
                return send(.specRejected(reason: reason)) + discard("hello rejected: \(reason)")
            case let .success(chosen):
                cipher = chosen
                report.encryption = chosen
            }
            sourceNonce = authentication.nonce
            phase = .awaitingSpec
            return []
        case let (_, .hello(id, _, _)):
            // This endpoint already consumed its hello: the id is used once, whatever the second one claims.
            return protocolFailure(.duplicateHello(id))
        case let (.awaitingSpec, .spec(spec)):
            if let problem = validate(spec) {
                return send(.specRejected(reason: problem)) + discard(problem)
            }
            self.spec = spec
            report.vmName = spec.vmName
            phase = .allocating
            return [.allocateMemory(spec)]
        case let (.receiving, .pageBatch(batch)):
            guard batch.round == expectedRound else {
                return protocolFailure(.inconsistent("page batch for round \(batch.round) while receiving round \(expectedRound)"))
            }
            apply(batch)
            return []
        case let (.receiving, .roundEnd(round, pages, bytes)):
            guard round == expectedRound, pages == UInt64(roundPages), bytes == UInt64(roundBytes) else {
                return protocolFailure(.inconsistent("round \(round) ended with \(pages) pages in \(bytes) bytes; received round \(expectedRound) with \(roundPages) pages in \(roundBytes) bytes"))
            }
            expectedRound += 1
            report.rounds += 1
            roundPages = 0
            roundBytes = 0
            return []
        case let (.receiving, .switchover(state)):
            guard let memory else { return [] }
            guard state.finalRound + 1 == expectedRound, state.finalRound >= 1, roundPages == 0,
                  state.pageCount == UInt64(memory.pageCount) else {
                return protocolFailure(.inconsistent("switchover after round \(state.finalRound) for \(state.pageCount) pages; received \(expectedRound - 1) rounds for \(memory.pageCount) pages"))
            }
            let digest = runningDigest.value
            report.digest = digest
            guard digest == state.memoryDigest else {
                let reason = "memory digest \(digest) differs from the source's \(state.memoryDigest): the copy is not exact"
                return send(.verifyFailed(reason: reason)) + discard(reason)
            }
            phase = .resuming
            return send(.verified(digest: digest)) + [.resumeVM(state)]
        case let (.resuming, .forwardedFrame(frame)), let (.running, .forwardedFrame(frame)),
             let (.committed, .forwardedFrame(frame)):
            return [.deliverFrame(frame)]
        case (.running, .commit):
            phase = .committed
            return [.completed(report)]
        case let (.awaitingHello, .abort(reason)), let (.awaitingSpec, .abort(reason)),
             let (.allocating, .abort(reason)), let (.receiving, .abort(reason)):
            return discard("the source aborted: \(reason)")
        default:
            return protocolFailure(.unexpectedMessage(message.type, phase: "the destination is \(phaseDescription)"))
        }
    }

    private func validate(_ spec: MigrationSpec) -> String? {
        if spec.pageSize != UInt32(GuestMemory.pageSize) {
            return "page size \(spec.pageSize) is not supported (this host uses \(GuestMemory.pageSize))"
        }
        if spec.memoryBytes == 0 || spec.memoryBytes % UInt64(GuestMemory.pageSize) != 0 {
            return "memory size \(spec.memoryBytes) is not a positive multiple of \(GuestMemory.pageSize)"
        }
        if spec.memoryBytes > settings.maxMemoryBytes {
            return "VM \(spec.vmName) needs \(spec.memoryBytes) bytes of memory; this host allows at most \(settings.maxMemoryBytes)"
        }
        if !settings.portGroups.contains(spec.portGroup) {
            let have = settings.portGroups.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            return "port group \"\(spec.portGroup)\" not found on this host (it has: \(have)); labels must match exactly, case included"
        }
        if let datastores = settings.datastores, !datastores.contains(spec.datastore) {
            let have = datastores.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            return "datastore \"\(spec.datastore)\" is not mounted on this host (it has: \(have)); the VM's files must be on shared storage"
        }
        return nil
    }

    private mutating func apply(_ batch: PageBatch) {
        guard let memory else { return }
        var normal = 0
        var running = runningDigest
        receivedHashes.withUnsafeMutableBufferPointer { hashes in
            storedPages.withUnsafeMutableBufferPointer { stored in
                batch.forEachRecord { record in
                    switch record {
                    case let .page(index, contents):
                        memory.storePage(index, from: contents)
                        let hash = memory.pageHash(index)
                        stored[index >> 6] |= UInt64(1) << UInt64(index & 63)
                        normal += 1
                        running.replace(page: index, old: hashes[index], new: hash)
                        hashes[index] = hash
                    case let .zero(pages):
                        Self.clearStored(pages, stored: stored, hashes: hashes, running: &running, memory: memory)
                    }
                }
            }
        }
        runningDigest = running
        roundPages += batch.pageCount
        roundBytes += MigrationWire.headerLength + MigrationWire.pageBatchPrefixLength + batch.records.count
        report.pagesReceived += batch.pageCount
        report.normalPages += normal
        report.zeroPages += batch.pageCount - normal
    }

    /// Zero pages: a page never stored here is zero and has the zero hash, so only the stored pages in
    /// `pages` change; a long range costs a look at one bit word per 64 pages.
    private static func clearStored(_ pages: Range<Int>, stored: UnsafeMutableBufferPointer<UInt64>,
                                    hashes: UnsafeMutableBufferPointer<UInt64>, running: inout PageHash.Running,
                                    memory: GuestMemory) {
        var word = pages.lowerBound >> 6
        while word << 6 < pages.upperBound {
            let first = max(pages.lowerBound, word << 6) - (word << 6)
            let last = min(pages.upperBound, (word + 1) << 6) - (word << 6)
            let mask = (last == 64 ? UInt64.max : (UInt64(1) << UInt64(last)) - 1) & ~((UInt64(1) << UInt64(first)) - 1)
            let hit = stored[word] & mask
            stored[word] &= ~mask
            hit.forEachSetBit { bit in
                let index = word << 6 + bit
                memory.zeroPage(index)
                running.replace(page: index, old: hashes[index], new: PageHash.zeroPage)
                hashes[index] = PageHash.zeroPage
            }
            word += 1
        }
    }

    private mutating func reject(_ reason: String) -> [DestinationAction] {
        send(.abort(reason: reason)) + discard("hello rejected: \(reason)")
    }

    /// A `.send` of `message`, sealed when the stream is encrypted (nothing if sealing failed).
    private mutating func send(_ message: MigrationMessage) -> [DestinationAction] {
        let bytes = channel.wireBytes(for: MigrationEncoder.encode(message), failure: &sealFailure)
        return bytes.isEmpty ? [] : [.send(bytes)]
    }

    private mutating func protocolFailure(_ error: MigrationProtocolError) -> [DestinationAction] {
        switch phase {
        case .awaitingHello, .awaitingSpec, .allocating, .receiving:
            return send(.abort(reason: error.description)) + discard(error.description)
        case .resuming, .running:
            return awaitCoordinator("after the VM resumed here: \(error.description)")
        case .committed, .discarded, .awaitingCoordinator:
            return []
        }
    }

    private mutating func discard(_ reason: String) -> [DestinationAction] {
        phase = .discarded
        memory = nil
        receivedHashes = []
        runningDigest = PageHash.Running()
        storedPages = []
        return [.discard(reason: reason)]
    }

    private mutating func awaitCoordinator(_ reason: String) -> [DestinationAction] {
        phase = .awaitingCoordinator
        return [.awaitCoordinator(reason: reason)]
    }
}
