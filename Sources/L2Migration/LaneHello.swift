import Crypto

/// The first message of an extra lane (lane 1 or more) of a migration that moves its pages over
/// several TCP connections: which migration and which lane, and
/// `HMAC-SHA256(key, "l2motion lane v1" ‖ id ‖ lane ‖ source nonce ‖ destination nonce)`.
///
/// Both handshake nonces are bound in, so only the source that completed this migration's handshake
/// on lane 0 (it alone learned the destination's nonce from an authenticated `specAccepted`) can open
/// a lane, and a lane hello of another migration, or of another lane of this one, does not verify.
/// It travels in clear; with AES-256-GCM the lane's bytes after it are sealed with keys of its own
/// (`SecureChannel(…, lane:)`).
public struct LaneHello: Sendable, Equatable {
    public var id: MigrationID
    /// The lane's index: 1 up to the lane count − 1 (lane 0 is the connection that carried `hello`).
    public var lane: UInt16
    /// The 32-byte HMAC-SHA256.
    public var mac: [UInt8]

    /// `mac` must be 32 bytes (a shorter one is padded with zeros, a longer one cut: it then fails to verify).
    public init(id: MigrationID, lane: UInt16, mac: [UInt8]) {
        self.id = id
        self.lane = lane
        self.mac = Array((mac + [UInt8](repeating: 0, count: HelloAuthentication.macLength)).prefix(HelloAuthentication.macLength))
    }

    /// The hello of `lane` of migration `id`, whose handshake exchanged these nonces.
    public init(id: MigrationID, lane: UInt16, sourceNonce: MigrationNonce, destinationNonce: MigrationNonce,
                key: MigrationSecret) {
        let bytes = Self.authenticatedBytes(id: id, lane: lane, sourceNonce: sourceNonce, destinationNonce: destinationNonce)
        self.init(id: id, lane: lane, mac: Array(HMAC<SHA256>.authenticationCode(for: bytes, using: key.symmetricKey)))
    }

    /// True when `mac` is this hello's code under `key` for the handshake with these nonces
    /// (constant-time comparison).
    public func isValid(sourceNonce: MigrationNonce, destinationNonce: MigrationNonce, key: MigrationSecret) -> Bool {
        let bytes = Self.authenticatedBytes(id: id, lane: lane, sourceNonce: sourceNonce, destinationNonce: destinationNonce)
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: bytes, using: key.symmetricKey)
    }

    static func authenticatedBytes(id: MigrationID, lane: UInt16, sourceNonce: MigrationNonce,
                                   destinationNonce: MigrationNonce) -> [UInt8] {
        var bytes = Array("l2motion lane v1".utf8)
        bytes.appendBigEndian(id.high)
        bytes.appendBigEndian(id.low)
        bytes.appendBigEndian(lane)
        bytes.append(contentsOf: sourceNonce.bytes)
        bytes.append(contentsOf: destinationNonce.bytes)
        return bytes
    }
}
