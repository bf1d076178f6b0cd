/// Setup: the handshake that proves both sides hold the migration key, and the stream's protection.
extension MigrationSource {
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

    /// The destination's `specAccepted`: checks its proof of the key and its choice of cipher, turns
    /// encryption on if chosen, and starts round 1.
    mutating func accept(_ acceptance: SpecAcceptance, now: UInt64) -> [SourceAction] {
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
        lanes.destinationNonce = acceptance.nonce
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
        // Post-copy from the start: no pre-copy round; the pages never backed are not missing there.
        if settings.mode == .postcopy { return beginPostcopy(now: now) }
        return []
    }
}
