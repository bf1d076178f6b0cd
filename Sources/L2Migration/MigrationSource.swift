import L2Guest

/// Knobs of a migration source. The coordinator provides `migrationID` and `secret` (the per-migration key).
public struct MigrationSourceSettings: Sendable {
    public var migrationID: MigrationID
    public var secret: MigrationSecret
    /// Whether the stream is encrypted (stated in `hello`; the destination chooses).
    public var encryption: MigrationEncryptionMode
    public var convergence: ConvergencePolicy
    /// From `start` to the destination's spec answer.
    public var setupTimeoutNanoseconds: UInt64
    /// From the switchover message to the destination's `resumed`; on expiry the coordinator decides.
    public var switchoverTimeoutNanoseconds: UInt64
    /// Page records per page-batch message.
    public var pagesPerBatch: Int
    /// Re-hash the frozen source memory when `resumed` arrives, before committing (memory speed, after
    /// the downtime). Turn off to run `verifySourceFrozenMemory()` elsewhere.
    public var verifyFrozenMemoryBeforeCommit: Bool
    /// How long after `resumed` `forwardFrame` still forwards frames.
    public var forwardGraceNanoseconds: UInt64
    /// Which pages of the guest memory the kernel has ever backed (one bit per page, as
    /// `DirtyBitmap` words), read when pre-copy starts and when the frozen memory is verified. A page
    /// it leaves out, and that no write marked dirty, was never written: it is zero, and goes out as a
    /// zero record without being read (reading it would only make the kernel map it). Nil: read every page.
    public var populatedPages: (@Sendable () -> [UInt64]?)?

    public init(migrationID: MigrationID, secret: MigrationSecret, encryption: MigrationEncryptionMode = .opportunistic,
                convergence: ConvergencePolicy = ConvergencePolicy(),
                setupTimeoutNanoseconds: UInt64 = 10_000_000_000, switchoverTimeoutNanoseconds: UInt64 = 10_000_000_000,
                pagesPerBatch: Int = 64, verifyFrozenMemoryBeforeCommit: Bool = true,
                forwardGraceNanoseconds: UInt64 = 2_000_000_000) {
        self.migrationID = migrationID
        self.secret = secret
        self.encryption = encryption
        self.convergence = convergence
        self.setupTimeoutNanoseconds = setupTimeoutNanoseconds
        self.switchoverTimeoutNanoseconds = switchoverTimeoutNanoseconds
        self.pagesPerBatch = max(1, min(pagesPerBatch, 256))
        self.verifyFrozenMemoryBeforeCommit = verifyFrozenMemoryBeforeCommit
        self.forwardGraceNanoseconds = forwardGraceNanoseconds
        populatedPages = nil
    }
}

/// What the source's driver must do, in order. Send actions carry whole messages.
public enum SourceAction: Sendable, Equatable {
    /// Write these bytes to the migration connection.
    case send([UInt8])
    /// Stop the VM's vCPUs and workload now, then call `stunned(…)`.
    case stun
    /// Slow the workload to (100 − percent) % of its speed; 0 removes the throttle.
    case throttle(percent: Int)
    /// The migration failed before the VM left: make sure it runs on the source (unstun if stunned).
    case resumeSource(reason: String)
    /// The destination runs the VM and the copy is proved: drop the source's copy.
    case releaseSource
    /// The outcome is ambiguous: keep the VM stunned and ask the coordinator.
    case awaitCoordinator(reason: String)
    case completed(MigrationResult)
    case failed(MigrationResult)
}

/// Where a migration source is.
public enum SourcePhase: String, Sendable, Equatable {
    case idle, setup, precopy, stunning, switchover, completed, failed, awaitingCoordinator
}

/// The sending side of a pre-copy live migration, sans I/O: it consumes bytes from the destination,
/// connection events and the time, and returns `SourceAction`s.
///
/// Driver loop (blocking TCP or in-memory):
/// 1. `start(now:)`, send what it returns.
/// 2. Repeat: `receive(bytes:now:)` with whatever arrived (non-blocking read), `tick(now:)`, and while
///    `wantsToProduce`, `produce(into:budget:now:)` then write the buffer (before performing the
///    returned actions). On `.stun`, stun the VM and call `stunned(…)`.
/// 3. After the switchover, forward frames for the VM with `forwardFrame(_:now:)`.
/// 4. `connectionLost(now:)` on EOF or a socket error. Stop on `.completed`, `.failed` or `.awaitCoordinator`.
///
/// All `now` values are nanoseconds from one wall clock (see `MigrationResult` for downtime).
///
/// Encryption is internal: `hello` and `spec` go in clear; once the destination's `specAccepted` (also
/// clear, and authenticated) chose AES-256-GCM, every `.send` and every buffer `produce` fills holds
/// `SecureChannel` records, and `receive` takes the destination's records and opens them.
public struct MigrationSource: Sendable {
    public let spec: MigrationSpec
    public let settings: MigrationSourceSettings
    public let memory: GuestMemory
    public private(set) var phase: SourcePhase = .idle

    private var decoder = MigrationDecoder()
    private var writer = PageBatchWriter()
    private var status: MigrationStatus = .setup
    private var startTime: UInt64
    private var setupDoneTime: UInt64?
    private var roundStartTime: UInt64 = 0
    private var endTime: UInt64?
    private var round = 0
    /// Pages still to send in the current round, one bit per page.
    private var roundBitmap: [UInt64]
    /// During round 1: pages known to be zero without reading them (never backed, never written).
    private var knownZero: [UInt64]?
    /// Set from `stunned` until the switchover message is out.
    private var finalRound: FinalRound?
    private var cursorWord = 0
    private var cursorBits: UInt64 = 0
    private var pendingPages = 0
    private var roundPages = 0
    private var roundZeroPages = 0
    private var roundBytes = 0
    private var ram = RAMStats()
    private var precopyPages = 0
    /// Per page: the hash of the bytes last sent.
    private var sentHashes: [UInt64]
    private var rounds: [RoundStats] = []
    private var convergenceState = ConvergenceState()
    private var maxThrottle = 0
    private var expectedDowntime: UInt64?
    private var stunRequestedAt: UInt64?
    private var switchoverSentAt: UInt64?
    private var resumedAckAt: UInt64?
    private var destinationResumedAt: UInt64?
    /// The running digest of `sentHashes`, kept up to date as pages go out.
    private var runningDigest = PageHash.Running()
    private var destinationVerified = false
    private var frozenVerified: Bool?
    private var errorText: String?
    /// The source's handshake nonce (in `hello`).
    private let nonce = MigrationNonce.random()
    /// The negotiated cipher, once `specAccepted` arrived.
    private var cipher: MigrationStreamCipher?
    /// Seals what the source sends and opens what it receives, when the cipher is AES-256-GCM.
    private var channel: SecureChannel?
    /// Plaintext of a `produce` call before it is sealed into the caller's buffer.
    private var scratch: [UInt8] = []
    /// Plaintext opened from received records.
    private var opened: [UInt8] = []
    /// Sealing failed (the record counter ran out): the migration must stop.
    private var sealFailure: SecureChannelError?

    /// `spec.memoryBytes` must equal `memory.byteCount` and `spec.pageSize` must be 4096.
    public init(spec: MigrationSpec, memory: GuestMemory, settings: MigrationSourceSettings, now: UInt64) {
        precondition(spec.memoryBytes == UInt64(memory.byteCount),
                     "spec says \(spec.memoryBytes) bytes, guest memory has \(memory.byteCount)")
        precondition(spec.pageSize == UInt32(GuestMemory.pageSize), "page size must be \(GuestMemory.pageSize)")
        self.spec = spec
        self.memory = memory
        self.settings = settings
        startTime = now
        roundBitmap = [UInt64](repeating: 0, count: memory.dirty.wordsCount)
        sentHashes = [UInt64](repeating: PageHash.zeroPage, count: memory.pageCount)
        ram.total = memory.byteCount
        ram.pageSize = GuestMemory.pageSize
    }

    /// True while `produce` has page data to write: during pre-copy, and while the final round
    /// streams out after `stunned`.
    public var wantsToProduce: Bool { phase == .precopy || (phase == .stunning && finalRound != nil) }

    /// The current pre-copy round (1-based; 0 before the first).
    public var currentRound: Int { round }

    /// Sends hello and spec.
    public mutating func start(now: UInt64) -> [SourceAction] {
        guard phase == .idle else { return [] }
        startTime = now
        phase = .setup
        var out: [UInt8] = []
        let authentication = HelloAuthentication(id: settings.migrationID, encryption: settings.encryption, nonce: nonce,
                                                 key: settings.secret)
        MigrationEncoder.append(.hello(id: settings.migrationID, protocolVersion: UInt16(MigrationWire.version),
                                       authentication: authentication), to: &out)
        MigrationEncoder.append(.spec(spec), to: &out)
        ram.transferred += out.count
        return [.send(out)]
    }

    /// Appends up to about `budget` bytes of page batches of the current round to `buffer` (at least one
    /// page per call). Bytes count as sent when produced. At the end of a round it appends the round
    /// marker and applies the convergence policy: the returned actions may be `.throttle`, `.stun` or a
    /// clean failure (the buffer must still be written first). With encryption on, the appended bytes
    /// are sealed records (the budget counts plaintext).
    public mutating func produce(into buffer: inout [UInt8], budget: Int, now: UInt64) -> [SourceAction] {
        guard wantsToProduce else { return [] }
        let final = finalRound != nil
        let start = buffer.count
        let pieceBudget = final ? min(budget, Self.finalPieceBytes) : budget
        let done: Bool
        if channel != nil {
            // Borrow the scratch buffer (keeps its capacity across calls).
            var plaintext: [UInt8] = []
            swap(&plaintext, &scratch)
            plaintext.removeAll(keepingCapacity: true)
            done = writePiece(into: &plaintext, budget: pieceBudget)
            buffer.reserveCapacity(start + plaintext.count
                + (plaintext.count / SecureChannel.defaultMaxRecordLength + 2) * SecureChannel.recordOverhead)
            channel.appendWireBytes(of: plaintext, to: &buffer, failure: &sealFailure)
            swap(&plaintext, &scratch)
        } else {
            done = writePiece(into: &buffer, budget: pieceBudget)
        }
        ram.transferred += buffer.count - start
        if final { ram.downtimeBytes += buffer.count - start } else { ram.precopyBytes += buffer.count - start }
        if let sealFailure { return protocolFailure(.secureChannel(sealFailure), now: now) }
        guard done else { return [] }
        if final {
            finalRound = nil
            phase = .switchover
            status = .device
            switchoverSentAt = now
            return []
        }
        return finishRound(now: now)
    }

    /// Plaintext bytes of each piece of the final round: small, so the destination stores the first
    /// pages while the source encodes the next, and the downtime is the slower side's work, not the sum.
    public static let finalPieceBytes = 256 * 1024

    /// What the switchover message carries besides the pages, held while the final round streams out.
    private struct FinalRound {
        var vcpuState: [UInt8]
        var workloadState: [UInt8]
        var queuedFrames: [[UInt8]]
    }

    /// Page batches of the current round up to `budget`; in the final round, once the last page is in,
    /// the round marker, the digest and the switchover message. Returns true when the round is complete.
    private mutating func writePiece(into buffer: inout [UInt8], budget: Int) -> Bool {
        guard writePrecopy(into: &buffer, budget: budget) else { return false }
        guard let state = finalRound else { return true }
        rounds.append(RoundStats(round: round, pages: roundPages, zeroPages: roundZeroPages, bytes: roundBytes,
                                 durationMs: 0, mbps: 0, dirtiedDuring: 0))
        MigrationEncoder.append(.switchover(SwitchoverState(
            finalRound: UInt32(round), vcpuState: state.vcpuState, workloadState: state.workloadState,
            queuedFrames: state.queuedFrames.filter { (1...MigrationWire.maxFrameLength).contains($0.count) },
            pageCount: UInt64(memory.pageCount), memoryDigest: runningDigest.value)), to: &buffer)
        return true
    }

    /// The driver stunned the VM (after `.stun`): the final dirty pages, then the state, the queued
    /// frames and the digest in the switchover message. The first piece comes back as a `.send`; while
    /// `wantsToProduce`, `produce` gives the next pieces (the last ends with the switchover message).
    /// `stunnedAt` is when the VM actually froze (a driver may let the pipe drain between `.stun` and the
    /// freeze, with the VM still running); downtime counts from it. Without it, downtime counts from
    /// the `.stun` request.
    public mutating func stunned(vcpuState: [UInt8], workloadState: [UInt8], queuedFrames: [[UInt8]],
                                 stunnedAt: UInt64? = nil, now: UInt64) -> [SourceAction] {
        guard phase == .stunning, finalRound == nil else { return [] }
        if let stunnedAt { stunRequestedAt = stunnedAt }
        pendingPages = 0
        for word in 0..<roundBitmap.count {
            roundBitmap[word] |= memory.dirty.takeWord(word)
            pendingPages += roundBitmap[word].nonzeroBitCount
        }
        cursorWord = 0
        cursorBits = 0
        startRound(now: now)
        finalRound = FinalRound(vcpuState: vcpuState, workloadState: workloadState, queuedFrames: queuedFrames)
        var out: [UInt8] = []
        let actions = produce(into: &out, budget: Self.finalPieceBytes, now: now)
        return (out.isEmpty ? [] : [.send(out)]) + actions
    }

    /// Bytes received from the destination (sealed records once AES-256-GCM was negotiated).
    public mutating func receive(bytes: some Collection<UInt8>, now: UInt64) -> [SourceAction] {
        guard isActive else { return [] }
        let channelError = decoder.append(bytes, through: &channel, scratch: &opened)
        // Records opened before a bad one are valid: their messages count first.
        var actions = decodeReceived(now: now)
        if let channelError, isActive { actions += protocolFailure(.secureChannel(channelError), now: now) }
        return actions
    }

    private mutating func decodeReceived(now: UInt64) -> [SourceAction] {
        var actions: [SourceAction] = []
        while isActive {
            let message: MigrationMessage
            do {
                guard let next = try decoder.next() else { break }
                message = next
            } catch {
                actions += protocolFailure(error, now: now)
                break
            }
            actions += handle(message, now: now)
        }
        return actions
    }

    /// The connection closed or failed.
    public mutating func connectionLost(now: UInt64) -> [SourceAction] {
        switch phase {
        case .setup, .precopy, .stunning:
            return fail("connection to the destination lost during \(phaseDescription); the VM stays on the source",
                        now: now, sendAbort: false)
        case .switchover:
            return awaitCoordinator("connection lost after the switchover was sent and before the destination reported resumed; the VM stays stunned on the source until the coordinator decides", now: now)
        case .idle, .completed, .failed, .awaitingCoordinator:
            return []
        }
    }

    /// Checks deadlines: setup timeout, total-time cap, switchover timeout.
    public mutating func tick(now: UInt64) -> [SourceAction] {
        if let sealFailure, isActive { return protocolFailure(.secureChannel(sealFailure), now: now) }
        switch phase {
        case .setup where elapsed(startTime, now) > settings.setupTimeoutNanoseconds:
            return fail("the destination did not answer the spec within \(milliseconds(settings.setupTimeoutNanoseconds)) ms",
                        now: now, sendAbort: true)
        case .precopy where elapsed(startTime, now) > settings.convergence.maxTotalNanoseconds,
             .stunning where elapsed(startTime, now) > settings.convergence.maxTotalNanoseconds:
            return fail("the migration exceeded the total-time limit of \(milliseconds(settings.convergence.maxTotalNanoseconds)) ms in round \(round)",
                        now: now, sendAbort: true)
        case .switchover where elapsed(switchoverSentAt ?? now, now) > settings.switchoverTimeoutNanoseconds:
            return awaitCoordinator("the destination did not report resumed within \(milliseconds(settings.switchoverTimeoutNanoseconds)) ms of the switchover; the VM stays stunned on the source until the coordinator decides", now: now)
        default:
            return []
        }
    }

    /// Cancels before the switchover (the VM stays on the source). After it, returns nothing.
    public mutating func cancel(reason: String, now: UInt64) -> [SourceAction] {
        guard phase == .setup || phase == .precopy || phase == .stunning else { return [] }
        return fail("cancelled: \(reason)", now: now, sendAbort: true, status: .cancelled)
    }

    /// A frame that reached the source for the VM after the switchover: returns a `.send` forwarding it,
    /// or nothing once forwarding makes no sense (before switchover, after the grace period, or a frame
    /// of 0 or over 65535 bytes). Sealed when the stream is encrypted.
    public mutating func forwardFrame(_ frame: [UInt8], now: UInt64) -> [SourceAction] {
        guard (1...MigrationWire.maxFrameLength).contains(frame.count) else { return [] }
        let forwarding = phase == .switchover
            || (phase == .completed && elapsed(resumedAckAt ?? now, now) <= settings.forwardGraceNanoseconds)
        guard forwarding else { return [] }
        let bytes = emit(MigrationEncoder.encode(.forwardedFrame(frame)))
        return bytes.isEmpty ? [] : [.send(bytes)]
    }

    /// The stream cipher the destination chose; nil before its `specAccepted`.
    public var negotiatedEncryption: MigrationStreamCipher? { cipher }

    /// Re-hashes every page of the (frozen) source memory and compares with the hashes of the bytes
    /// sent. True proves source memory now == what the destination received; with the destination's
    /// digest check, destination memory at resume == source memory at stun. Memory speed; a copy of
    /// this value can run it on another thread.
    /// A page the kernel never backed is zero without reading it.
    public func verifySourceFrozenMemory() -> Bool {
        let populated = settings.populatedPages?().flatMap { $0.count == memory.dirty.wordsCount ? $0 : nil }
        for page in 0..<memory.pageCount {
            if let populated, populated[page >> 6] & (1 << UInt64(page & 63)) == 0 {
                if sentHashes[page] != PageHash.zeroPage { return false }
                continue
            }
            if memory.pageHash(page) != sentHashes[page] { return false }
        }
        return true
    }

    /// The figures so far (for progress) or final.
    public func result(now: UInt64) -> MigrationResult {
        let end = endTime ?? now
        var ram = self.ram
        ram.normalBytes = ram.normal * GuestMemory.pageSize
        ram.remaining = pendingPages * GuestMemory.pageSize
        ram.dirtySyncCount = rounds.count
        if let last = rounds.last(where: { $0.durationMs > 0 }) {
            ram.dirtyPagesRate = Double(last.dirtiedDuring) / (last.durationMs / 1000)
        }
        if let setupDoneTime {
            let precopyEnd = stunRequestedAt ?? end
            let seconds = Double(elapsed(setupDoneTime, precopyEnd)) / 1e9
            if seconds > 0 {
                ram.mbps = Double(ram.precopyBytes) * 8 / seconds / 1e6
                ram.pagesPerSecond = Double(precopyPages) / seconds
            }
        }
        var downtime: Double?
        if let stunRequestedAt, let destinationResumedAt { downtime = milliseconds(elapsed(stunRequestedAt, destinationResumedAt)) }
        var ack: Double?
        if let stunRequestedAt, let resumedAckAt { ack = milliseconds(elapsed(stunRequestedAt, resumedAckAt)) }
        let frozenOK = frozenVerified ?? !settings.verifyFrozenMemoryBeforeCommit
        return MigrationResult(
            status: status, totalTime: milliseconds(elapsed(startTime, end)),
            setupTime: setupDoneTime.map { milliseconds(elapsed(startTime, $0)) }, downtime: downtime,
            expectedDowntime: expectedDowntime.flatMap { $0 == .max ? nil : milliseconds($0) },
            stunToResumedAck: ack, ram: ram, cpuThrottlePercentage: maxThrottle, rounds: rounds,
            verified: destinationVerified && frozenOK, encryption: cipher, error: errorText)
    }

    // MARK: - Internals

    private var isActive: Bool {
        phase == .setup || phase == .precopy || phase == .stunning || phase == .switchover
    }

    private var phaseDescription: String {
        switch phase {
        case .setup: "setup"
        case .precopy: "pre-copy round \(round)"
        case .stunning: "the stun"
        case .switchover: "the switchover"
        default: phase.rawValue
        }
    }

    private mutating func handle(_ message: MigrationMessage, now: UInt64) -> [SourceAction] {
        switch (phase, message) {
        case let (.setup, .specAccepted(acceptance)):
            guard acceptance.isValid(id: settings.migrationID, sourceNonce: nonce, spec: spec, key: settings.secret) else {
                return protocolFailure(.authenticationFailed("the destination's spec-accepted does not prove the migration key (another key, or the hello or spec was altered on the way)"), now: now)
            }
            switch (settings.encryption, acceptance.cipher) {
            case (.required, .unencrypted):
                return fail("the destination chose an unencrypted stream but this migration requires encryption",
                            now: now, sendAbort: true)
            case (.disabled, .aes256GCM):
                return fail("the destination chose an encrypted stream but encryption is disabled on the source",
                            now: now, sendAbort: true)
            default:
                break
            }
            cipher = acceptance.cipher
            if acceptance.cipher == .aes256GCM {
                var secure = SecureChannel(secret: settings.secret, id: settings.migrationID, sourceNonce: nonce,
                                           destinationNonce: acceptance.nonce, role: .source)
                // Whatever followed spec-accepted in the same read is already sealed.
                do throws(SecureChannelError) {
                    try decoder.startDecrypting(with: &secure)
                } catch {
                    channel = secure
                    return protocolFailure(.secureChannel(error), now: now)
                }
                channel = secure
            }
            setupDoneTime = now
            phase = .precopy
            status = .active
            startFirstRound(now: now)
            return []
        case let (.setup, .specRejected(reason)):
            return fail("the destination rejected the migration: \(reason)", now: now, sendAbort: false)
        case let (.setup, .abort(reason)), let (.precopy, .abort(reason)), let (.stunning, .abort(reason)),
             let (.switchover, .abort(reason)):
            // The destination aborts only before it resumes the VM, so the source may run it again.
            return fail("the destination aborted: \(reason)", now: now, sendAbort: false)
        case let (.switchover, .verified(digest)) where !destinationVerified:
            // No page is recorded after the switchover message, so the running digest is what it carried.
            guard digest == runningDigest.value else {
                return protocolFailure(.inconsistent("the destination verified digest \(digest), the source sent \(runningDigest.value)"), now: now)
            }
            destinationVerified = true
            return []
        case let (.switchover, .verifyFailed(reason)) where !destinationVerified:
            return fail("the destination could not verify the copy: \(reason)", now: now, sendAbort: false)
        case let (.switchover, .resumed(at)) where destinationVerified:
            destinationResumedAt = at
            resumedAckAt = now
            if settings.verifyFrozenMemoryBeforeCommit {
                frozenVerified = verifySourceFrozenMemory()
                if frozenVerified == false {
                    return awaitCoordinator("the source memory changed after it was sent (dirty tracking missed a write); the destination runs a copy that may differ, the coordinator must decide", now: now)
                }
            }
            phase = .completed
            status = .completed
            endTime = now
            let commit = emit(MigrationEncoder.encode(.commit))
            ram.transferred += commit.count
            return [.send(commit), .releaseSource, .completed(result(now: now))]
        default:
            return protocolFailure(.unexpectedMessage(message.type, phase: "the source is in \(phaseDescription)"), now: now)
        }
    }

    private mutating func protocolFailure(_ error: MigrationProtocolError, now: UInt64) -> [SourceAction] {
        if phase == .switchover {
            return awaitCoordinator("after the switchover: \(error.description); the VM stays stunned on the source until the coordinator decides", now: now)
        }
        return fail(error.description, now: now, sendAbort: true)
    }

    private mutating func fail(_ reason: String, now: UInt64, sendAbort: Bool,
                               status: MigrationStatus = .failed) -> [SourceAction] {
        var actions: [SourceAction] = []
        if sendAbort {
            let abort = emit(MigrationEncoder.encode(.abort(reason: reason)))
            ram.transferred += abort.count
            if !abort.isEmpty { actions.append(.send(abort)) }
        }
        if convergenceState.throttlePercent > 0 { actions.append(.throttle(percent: 0)) }
        phase = .failed
        self.status = status
        endTime = now
        errorText = reason
        actions.append(.resumeSource(reason: reason))
        actions.append(.failed(result(now: now)))
        return actions
    }

    private mutating func awaitCoordinator(_ reason: String, now: UInt64) -> [SourceAction] {
        phase = .awaitingCoordinator
        status = .awaitingCoordinator
        endTime = now
        errorText = reason
        return [.awaitCoordinator(reason: reason)]
    }

    /// Takes the dirty bitmap into the round bitmap (atomic test-and-clear per 64 pages).
    private mutating func takeDirtySnapshot() -> Int {
        pendingPages = 0
        for word in 0..<roundBitmap.count {
            let bits = memory.dirty.takeWord(word)
            roundBitmap[word] = bits
            pendingPages += bits.nonzeroBitCount
        }
        cursorWord = 0
        cursorBits = 0
        return pendingPages
    }

    /// Round 1 sends every page. Pages that were never backed by the kernel and never marked dirty are
    /// zero: they are recorded in `knownZero` and sent without being read.
    private mutating func startFirstRound(now: UInt64) {
        let populated = settings.populatedPages?().flatMap { $0.count == roundBitmap.count ? $0 : nil }
        var zero = populated.map { _ in [UInt64](repeating: 0, count: roundBitmap.count) }
        pendingPages = 0
        for word in 0..<roundBitmap.count {
            let remaining = memory.pageCount - word * 64
            let all: UInt64 = remaining >= 64 ? .max : (1 << UInt64(remaining)) - 1
            // Taking the dirty bits starts tracking: a write whose mark lands after this is sent again
            // in round 2. A page written before (marked) is read now, whatever the kernel says.
            let written = memory.dirty.takeWord(word)
            if let populated { zero![word] = all & ~(populated[word] | written) }
            roundBitmap[word] = all
            pendingPages += all.nonzeroBitCount
        }
        cursorWord = 0
        cursorBits = 0
        knownZero = zero
        startRound(now: now)
    }

    private mutating func startRound(now: UInt64) {
        round += 1
        roundStartTime = now
        roundPages = 0
        roundZeroPages = 0
        roundBytes = 0
    }

    /// Takes the pages right after `page` that are next in the round and known to be zero, a whole
    /// bit word at a time where it can; returns the end of the run (exclusive).
    private mutating func takeZeroRun(after page: Int, knownZero: [UInt64]) -> Int {
        var end = page + 1
        while pendingPages > 0 {
            if cursorBits == 0 {
                let word = cursorWord
                if word << 6 == end && roundBitmap[word] == .max && knownZero[word] == .max {
                    roundBitmap[word] = 0
                    cursorWord += 1
                    pendingPages -= 64
                    end += 64
                } else {
                    cursorBits = roundBitmap[word]
                    roundBitmap[word] = 0
                    cursorWord += 1
                }
                continue
            }
            let next = (cursorWord - 1) << 6 + cursorBits.trailingZeroBitCount
            guard next == end, knownZero[next >> 6] & (1 << UInt64(next & 63)) != 0 else { break }
            cursorBits &= cursorBits - 1
            pendingPages -= 1
            end += 1
        }
        return end
    }

    private mutating func nextPage() -> Int {
        while cursorBits == 0 {
            cursorBits = roundBitmap[cursorWord]
            roundBitmap[cursorWord] = 0
            cursorWord += 1
        }
        let bit = cursorBits.trailingZeroBitCount
        cursorBits &= cursorBits - 1
        pendingPages -= 1
        return (cursorWord - 1) * 64 + bit
    }

    private mutating func encode(page: Int, into buffer: inout [UInt8]) {
        if let knownZero, knownZero[page >> 6] & (1 << UInt64(page & 63)) != 0 {
            // Round 1: nothing was sent before, so the sent hash of every page in the run is already
            // the zero hash and the running digest does not change.
            let end = takeZeroRun(after: page, knownZero: knownZero)
            writer.appendZero(pages: page..<end, in: &buffer)
            roundZeroPages += end - page
            ram.duplicate += end - page
            roundPages += end - page
            return
        }
        let contents = UnsafeRawPointer(memory.pointer(toPage: page))
        if PageHash.isZero(contents) {
            writer.appendZero(page: page, in: &buffer)
            record(page: page, hash: PageHash.zeroPage)
            roundZeroPages += 1
            ram.duplicate += 1
        } else {
            record(page: page, hash: writer.appendPage(page: page, contents: contents, in: &buffer))
            ram.normal += 1
        }
        roundPages += 1
    }

    /// What went out for `page`: its hash, and the running digest follows.
    @inline(__always)
    private mutating func record(page: Int, hash: UInt64) {
        runningDigest.replace(page: page, old: sentHashes[page], new: hash)
        sentHashes[page] = hash
    }

    /// The bytes to put on the wire for `plaintext`: itself in clear, sealed records when encrypted
    /// (empty if sealing failed; `sealFailure` then stops the migration).
    private mutating func emit(_ plaintext: [UInt8]) -> [UInt8] {
        channel.wireBytes(for: plaintext, failure: &sealFailure)
    }

    /// Appends up to about `budget` bytes of page batches (at least one page), and the round marker once
    /// the round's last page is in; returns true then. `roundBytes` counts the plaintext.
    private mutating func writePrecopy(into buffer: inout [UInt8], budget: Int) -> Bool {
        let start = buffer.count
        let recordMax = MigrationWire.pageRecordHeaderLength + MigrationWire.pageSize
        let batchOverhead = MigrationWire.headerLength + MigrationWire.pageBatchPrefixLength
        buffer.reserveCapacity(start + max(budget, 0) + batchOverhead + recordMax + 64)
        var wrote = false
        while pendingPages > 0 {
            let need = (writer.isOpen ? 0 : batchOverhead) + recordMax
            if wrote && buffer.count - start + need > budget { break }
            if !writer.isOpen { writer.begin(round: UInt32(round), in: &buffer) }
            encode(page: nextPage(), into: &buffer)
            wrote = true
            if writer.count >= settings.pagesPerBatch { writer.finish(in: &buffer) }
        }
        if writer.isOpen { writer.finish(in: &buffer) }
        roundBytes += buffer.count - start
        guard pendingPages == 0 else { return false }
        let markerStart = buffer.count
        MigrationEncoder.append(.roundEnd(round: UInt32(round), pages: UInt64(roundPages), bytes: UInt64(roundBytes)),
                                to: &buffer)
        roundBytes += buffer.count - markerStart
        return true
    }

    /// After the round marker went out: the round's figures and the convergence decision.
    private mutating func finishRound(now: UInt64) -> [SourceAction] {
        knownZero = nil
        precopyPages += roundPages
        let dirtied = takeDirtySnapshot()
        let duration = elapsed(roundStartTime, now)
        rounds.append(RoundStats(
            round: round, pages: roundPages, zeroPages: roundZeroPages, bytes: roundBytes,
            durationMs: milliseconds(duration),
            mbps: duration == 0 ? 0 : Double(roundBytes) * 8 * 1000 / Double(duration), dirtiedDuring: dirtied))
        let observation = RoundObservation(
            round: round, pagesSent: roundPages, bytesSent: roundBytes, durationNanoseconds: duration,
            dirtyPages: dirtied, pageSize: GuestMemory.pageSize, elapsedNanoseconds: elapsed(startTime, now))
        switch settings.convergence.decide(after: observation, state: &convergenceState) {
        case let .switchover(expected):
            expectedDowntime = expected
            phase = .stunning
            status = .device
            stunRequestedAt = now
            return [.stun]
        case let .nextRound(expected, throttle):
            expectedDowntime = expected
            startRound(now: now)
            guard let throttle else { return [] }
            maxThrottle = max(maxThrottle, throttle)
            return [.throttle(percent: throttle)]
        case let .fail(reason):
            return fail(reason, now: now, sendAbort: true)
        }
    }
}
