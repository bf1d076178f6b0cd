import Crypto

/// The channels of a migration's extra lanes. Each lane seals with keys of its own, so no key and
/// nonce pair is ever used on two lanes (every lane's record counters start at 0).
extension SecureChannel {
    /// The channel of one end of lane `lane` of migration `id`. Lane 0 is the session's own channel
    /// (`init(secret:id:sourceNonce:destinationNonce:role:maxRecordLength:)`).
    public init(secret: MigrationSecret, id: MigrationID, sourceNonce: MigrationNonce, destinationNonce: MigrationNonce,
                role: Role, lane: Int, maxRecordLength: Int = SecureChannel.defaultMaxRecordLength) {
        let keys = Self.deriveKeys(secret: secret, id: id, sourceNonce: sourceNonce, destinationNonce: destinationNonce, lane: lane)
        self.init(sourceToDestination: keys.sourceToDestination, destinationToSource: keys.destinationToSource,
                  role: role, maxRecordLength: maxRecordLength)
    }

    /// The two keys of lane `lane`: for lane 0 the session's keys; for lane k ≥ 1, each direction's
    /// key is HKDF-SHA256 of the session's key of that direction, with
    /// `"l2motion v1 lane" ‖ k (u16) ‖ direction ‖ id` as info (no salt: the session key is already
    /// uniform and bound to both nonces).
    public static func deriveKeys(secret: MigrationSecret, id: MigrationID, sourceNonce: MigrationNonce,
                                  destinationNonce: MigrationNonce, lane: Int)
        -> (sourceToDestination: SymmetricKey, destinationToSource: SymmetricKey) {
        let session = deriveKeys(secret: secret, id: id, sourceNonce: sourceNonce, destinationNonce: destinationNonce)
        guard lane != 0 else { return session }
        func info(_ direction: String) -> [UInt8] {
            var bytes = Array("l2motion v1 lane".utf8)
            bytes.appendBigEndian(UInt16(truncatingIfNeeded: lane))
            bytes.append(contentsOf: Array(" \(direction)".utf8))
            bytes.appendBigEndian(id.high)
            bytes.appendBigEndian(id.low)
            return bytes
        }
        return (HKDF<SHA256>.deriveKey(inputKeyMaterial: session.sourceToDestination, info: info("source->destination"), outputByteCount: 32),
                HKDF<SHA256>.deriveKey(inputKeyMaterial: session.destinationToSource, info: info("destination->source"), outputByteCount: 32))
    }
}
