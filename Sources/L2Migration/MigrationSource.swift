import L2Guest

/// The sending side of a pre-copy live migration, sans I/O: it consumes bytes from the destination,
/// connection events and the time, and returns `SourceAction`s. This file holds its state and the
/// dispatch of the destination's messages; each phase has its own file (`MigrationSource+Setup`,
/// `+Precopy`, `+Switchover`, `+Outcome`).
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
    public internal(set) var phase: SourcePhase = .idle

    var decoder = MigrationDecoder()
    var writer = PageBatchWriter()
    var status: MigrationStatus = .setup
    var startTime: UInt64
    var setupDoneTime: UInt64?
    var roundStartTime: UInt64 = 0
    var endTime: UInt64?
    var round = 0
    /// Pages still to send in the current round, one bit per page.
    var roundBitmap: [UInt64]
    /// During round 1: pages known to be zero without reading them (never backed, never written).
    var knownZero: [UInt64]?
    /// Set from `stunned` until the switchover message is out.
    var finalRound: FinalRound?
    var cursorWord = 0
    var cursorBits: UInt64 = 0
    var pendingPages = 0
    var roundPages = 0
    var roundZeroPages = 0
    var roundBytes = 0
    var ram = RAMStats()
    var precopyPages = 0
    /// Per page: the hash of the bytes last sent.
    var sentHashes: [UInt64]
    var rounds: [RoundStats] = []
    var convergenceState = ConvergenceState()
    var maxThrottle = 0
    var expectedDowntime: UInt64?
    var stunRequestedAt: UInt64?
    /// The switchover's moments, for the report's phases; also what the deadlines and figures count
    /// from (the switchover message queued, the destination's resume, its `resumed` heard).
    var timeline = SwitchoverTimeline()
    /// What the destination checked when it confirmed the switchover (switchover-ack).
    var acknowledgement: String?
    /// The running digest of `sentHashes`, kept up to date as pages go out.
    var runningDigest = PageHash.Running()
    var destinationVerified = false
    var frozenVerified: Bool?
    var errorText: String?
    /// The source's handshake nonce (in `hello`).
    let nonce = MigrationNonce.random()
    /// The negotiated cipher, once `specAccepted` arrived.
    var cipher: MigrationStreamCipher?
    /// Seals what the source sends and opens what it receives, when the cipher is AES-256-GCM.
    var channel: SecureChannel?
    /// Plaintext of a `produce` call before it is sealed into the caller's buffer.
    var scratch: [UInt8] = []
    /// Plaintext opened from received records.
    var opened: [UInt8] = []
    /// Sealing failed (the record counter ran out): the migration must stop.
    var sealFailure: SecureChannelError?
    /// Lanes 1 and up of a migration over several connections (`MigrationSource+Lanes`).
    var lanes = SourceLanes()
    /// Post-copy was decided: the next `stunned` starts it (`MigrationSource+Postcopy`).
    var postcopyPending = false
    /// Post-copy's state, from its switchover on.
    var postcopy: SourcePostcopy?

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
    public var wantsToProduce: Bool { phase == .precopy || (phase == .stunning && finalRound != nil) || postcopyWantsToProduce }

    /// The current pre-copy round (1-based; 0 before the first).
    public var currentRound: Int { round }

    /// Bytes put on the wire so far (every message and page batch, sealed records counted whole).
    public var transferredBytes: Int { ram.transferred }

    /// The stream cipher the destination chose; nil before its `specAccepted`.
    public var negotiatedEncryption: MigrationStreamCipher? { cipher }

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


    // MARK: - Internals

    var isActive: Bool {
        phase == .setup || phase == .precopy || phase == .awaitingAck || phase == .stunning || phase == .switchover
            || phase == .postcopy || phase == .postcopyRecovering
    }

    var phaseDescription: String {
        switch phase {
        case .setup: "setup"
        case .precopy: "pre-copy round \(round)"
        case .awaitingAck: "the switchover-ack"
        case .stunning: "the stun"
        case .switchover: "the switchover"
        case .postcopy: "post-copy"
        default: phase.rawValue
        }
    }

    /// Each message the destination may send, in the phase it may send it, goes to the phase's handler;
    /// anything else is a protocol failure.
    private mutating func handle(_ message: MigrationMessage, now: UInt64) -> [SourceAction] {
        switch (phase, message) {
        case let (.setup, .specAccepted(acceptance)):
            return accept(acceptance, now: now)
        case let (.setup, .specRejected(reason)):
            return fail("the destination rejected the migration: \(reason)", now: now, sendAbort: false)
        case let (.awaitingAck, .switchoverReady(detail)):
            return acknowledged(detail: detail, now: now)
        case let (.awaitingAck, .switchoverRefused(reason)):
            return fail("\(spec.vmName) was not stunned: the destination cannot resume it at once: \(reason)", now: now, sendAbort: false)
        case let (.setup, .abort(reason)), let (.precopy, .abort(reason)), let (.awaitingAck, .abort(reason)),
             let (.stunning, .abort(reason)), let (.switchover, .abort(reason)):
            // The destination aborts only before it resumes the VM, so the source may run it again.
            return fail("the destination aborted: \(reason)", now: now, sendAbort: false)
        case let (.switchover, .verified(digest)) where !destinationVerified:
            return verified(digest: digest, now: now)
        case let (.switchover, .verifyFailed(reason)) where !destinationVerified:
            return fail("the destination could not verify the copy: \(reason)", now: now, sendAbort: false)
        case let (.switchover, .resumed(at, arrived, verified)) where destinationVerified:
            timeline.switchoverArrivedAt = arrived
            timeline.verifiedAt = verified
            return commit(destinationResumedAt: at, now: now)
        case let (.postcopy, .resumed(at, arrived, verified)) where postcopy?.destinationResumed == false:
            return postcopyResumed(at: at, arrived: arrived, verified: verified, now: now)
        case let (.postcopyRecovering, .postcopyRecovered(missing)):
            return recovered(missing: missing, now: now)
        case let (.postcopyRecovering, .abort(reason)):
            return postcopyConnectionLost(now: now, reason: "the destination refused the recovery: \(reason)")
        case let (.postcopy, .pageRequest(pages)):
            requested(pages)
            return []
        case let (.postcopy, .verified(digest)) where postcopy?.endSent == true && postcopy?.destinationResumed == true:
            return postcopyVerified(digest: digest, now: now)
        case let (.postcopy, .verifyFailed(reason)) where postcopy?.destinationResumed == true:
            return postcopyConnectionLost(now: now, reason: "post-copy: the destination could not verify the copy: \(reason); the frozen memory stays here")
        case let (.postcopy, .abort(reason)) where postcopy?.destinationResumed == false:
            // The destination aborts only before it resumes the VM, so the source may run it again.
            return fail("the destination aborted: \(reason)", now: now, sendAbort: false)
        default:
            return protocolFailure(.unexpectedMessage(message.type, phase: "the source is in \(phaseDescription)"), now: now)
        }
    }

    /// The bytes to put on the wire for `plaintext`: itself in clear, sealed records when encrypted
    /// (empty if sealing failed; `sealFailure` then stops the migration).
    mutating func emit(_ plaintext: [UInt8]) -> [UInt8] {
        channel.wireBytes(for: plaintext, failure: &sealFailure)
    }
}
