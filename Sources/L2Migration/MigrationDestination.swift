import L2Guest

/// The receiving side of a pre-copy live migration, sans I/O: it validates the hello and the spec,
/// applies page batches to the VM's new memory, proves the copy at switchover and hands the VM over.
/// This file holds its state and the dispatch of the source's messages; each phase has its own file
/// (`MigrationDestination+Setup`, `+Precopy`, `+Switchover`, `+Outcome`).
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
    public internal(set) var phase: DestinationPhase = .awaitingHello
    public internal(set) var spec: MigrationSpec?
    /// The VM's memory, once allocated (nil again after a discard).
    public internal(set) var memory: GuestMemory?

    var decoder = MigrationDecoder()
    var receivedHashes: [UInt64] = []
    /// The running digest of `receivedHashes`.
    var runningDigest = PageHash.Running()
    /// One bit per page that holds bytes written by this migration (fresh memory reads as zero, so a
    /// zero record for a page never written costs nothing: no memset, no page fault).
    var storedPages: [UInt64] = []
    var lastActivity: UInt64
    var expectedRound: UInt32 = 1
    var roundPages = 0
    var roundBytes = 0
    /// When the bytes that completed the switchover message arrived.
    var switchoverArrivedAt: UInt64?
    /// A switchover-ack was given: the switchover may follow.
    var confirmedSwitchover = false
    var report = DestinationReport(vmName: "", pagesReceived: 0, zeroPages: 0, normalPages: 0,
                                           bytesReceived: 0, rounds: 0, digest: 0, resumedAt: nil, encryption: nil)
    /// The destination's handshake nonce (in `specAccepted`).
    let nonce = MigrationNonce.random()
    /// The source's nonce, from its accepted hello.
    var sourceNonce: MigrationNonce?
    /// The cipher chosen when the hello was accepted; in force from `specAccepted` on.
    var cipher: MigrationStreamCipher?
    /// Opens what the source sends and seals what the destination sends, once in force.
    var channel: SecureChannel?
    /// Plaintext opened from received records.
    var opened: [UInt8] = []
    /// Sealing failed (the record counter ran out): the migration must stop.
    var sealFailure: SecureChannelError?
    /// Lanes 1 and up of a migration over several connections (`MigrationDestination+Lanes`).
    var lanes = DestinationLanes()
    /// Post-copy's state, from `postcopyStart` on (`MigrationDestination+Postcopy`).
    var postcopy: DestinationPostcopy?

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

    mutating func decodeReceived(now: UInt64) -> [DestinationAction] {
        var actions: [DestinationAction] = []
        // (Lane 0 stops at a round marker whose pages are still on other lanes.)
        while phase != .discarded && phase != .awaitingCoordinator && lanes.pendingMarker == nil {
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

    /// The connection closed or failed.
    public mutating func connectionLost(now: UInt64) -> [DestinationAction] {
        switch phase {
        case .awaitingHello, .awaitingSpec, .allocating, .receiving:
            return discard("connection to the source lost before the VM resumed here")
        case .resuming where postcopy != nil, .postcopyActive:
            return pausePostcopy(now: now)
        case .resuming, .running:
            return awaitCoordinator("connection to the source lost after the VM resumed here and before the source committed")
        case .committed, .discarded, .awaitingCoordinator, .postcopyPaused:
            return []
        }
    }

    /// Checks the idle timeout before the VM resumes.
    public mutating func tick(now: UInt64) -> [DestinationAction] {
        if let sealFailure, phase != .discarded && phase != .awaitingCoordinator && phase != .committed {
            return protocolFailure(.secureChannel(sealFailure))
        }
        switch phase {
        case .postcopyActive where missingPageCount > 0 && elapsed(lastActivity, now) > settings.postcopyIdleNanoseconds:
            return pausePostcopy(now: now)
        case .awaitingHello, .awaitingSpec, .allocating, .receiving:
            guard elapsed(lastActivity, now) > settings.idleTimeoutNanoseconds else { return [] }
            let reason = "no data from the source for \(milliseconds(settings.idleTimeoutNanoseconds)) ms"
            return send(.abort(reason: reason)) + discard(reason)
        default:
            return []
        }
    }

    /// What was received so far.
    public var currentReport: DestinationReport {
        var current = report
        current.postcopy = postcopyReport
        return current
    }

    /// One bit per page that holds bytes this migration stored (as `DirtyBitmap` words).
    public var storedPageBits: [UInt64] { storedPages }

    // MARK: - Internals

    private var phaseDescription: String {
        switch phase {
        case .awaitingHello: "waiting for hello"
        case .awaitingSpec: "waiting for the spec"
        case .allocating: "allocating memory"
        case .receiving: "receiving round \(expectedRound)"
        case .resuming: "resuming the VM"
        case .running: "running the VM before commit"
        case .postcopyActive: "running the VM in post-copy"
        default: phase.rawValue
        }
    }

    /// Each message the source may send, in the phase it may send it, goes to the phase's handler;
    /// anything else is a protocol failure.
    private mutating func handle(_ message: MigrationMessage, now: UInt64) -> [DestinationAction] {
        switch (phase, message) {
        case let (.awaitingHello, .hello(id, version, authentication)):
            return acceptHello(id: id, version: version, authentication: authentication)
        case let (_, .hello(id, _, _)):
            // This endpoint already consumed its hello: the id is used once, whatever the second one claims.
            return protocolFailure(.duplicateHello(id))
        case let (.awaitingSpec, .spec(spec)):
            return acceptSpec(spec)
        case let (.receiving, .pageBatch(batch)):
            guard batch.round == expectedRound else {
                return protocolFailure(.inconsistent("page batch for round \(batch.round) while receiving round \(expectedRound)"))
            }
            apply(batch)
            return []
        case let (.receiving, .roundEnd(round, pages, bytes)):
            return endRound(round, pages: pages, bytes: bytes)
        case (.receiving, .switchoverQuery) where roundPages == 0 && !confirmedSwitchover:
            return [.confirmSwitchover]
        case let (.receiving, .switchover(state)):
            switchoverArrivedAt = now
            return switchover(state)
        case let (.receiving, .postcopyStart(start)):
            return startPostcopy(start, now: now)
        case let (.resuming, .pageBatch(batch)) where postcopy != nil && batch.round == MigrationWire.postcopyRound,
             let (.postcopyActive, .pageBatch(batch)) where batch.round == MigrationWire.postcopyRound:
            return applyPostcopy(batch, now: now)
        case let (.postcopyActive, .postcopyEnd(pages, digest)):
            return endPostcopy(pages: pages, digest: digest, now: now)
        case let (.resuming, .postcopyEnd(pages, digest)) where postcopy != nil:
            // Few pages were missing: they all came before the driver resumed the VM.
            postcopy?.heldEnd = (pages, digest)
            return []
        case let (.postcopyActive, .forwardedFrame(frame)):
            return [.deliverFrame(frame)]
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

    /// A `.send` of `message`, sealed when the stream is encrypted (nothing if sealing failed).
    mutating func send(_ message: MigrationMessage) -> [DestinationAction] {
        let bytes = channel.wireBytes(for: MigrationEncoder.encode(message), failure: &sealFailure)
        return bytes.isEmpty ? [] : [.send(bytes)]
    }
}
