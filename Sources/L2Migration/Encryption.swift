import Crypto

/// Whether a host encrypts its migrations, with vSphere's three settings. Codable as `"disabled"`,
/// `"opportunistic"` (the default) and `"required"`.
///
/// The source states its mode in `hello`; the destination chooses (`negotiate`): both willing →
/// AES-256-GCM, one disabled and the other opportunistic → clear, one disabled and the other required →
/// the migration is refused.
public enum MigrationEncryptionMode: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    /// Never encrypt; refuse a peer that requires it.
    case disabled
    /// Encrypt when the peer is willing, else migrate in clear.
    case opportunistic
    /// Encrypt or refuse the migration.
    case required

    /// The byte carried in `hello`.
    public var wireValue: UInt8 {
        switch self {
        case .disabled: 0
        case .opportunistic: 1
        case .required: 2
        }
    }

    /// The mode of a `hello` byte; nil for an unknown value.
    public init?(wireValue: UInt8) {
        switch wireValue {
        case 0: self = .disabled
        case 1: self = .opportunistic
        case 2: self = .required
        default: return nil
        }
    }

    public var description: String { rawValue }

    /// What a destination in mode `destination` answers a source in mode `source`: the cipher of the
    /// stream, or the reason it refuses the migration.
    public static func negotiate(source: Self, destination: Self) -> Result<MigrationStreamCipher, MigrationNegotiationFailure> {
        switch (source, destination) {
        case (.required, .disabled):
            .failure(MigrationNegotiationFailure(
                reason: "the source requires an encrypted migration but encryption is disabled on the destination"))
        case (.disabled, .required):
            .failure(MigrationNegotiationFailure(
                reason: "the destination requires an encrypted migration but encryption is disabled on the source"))
        case (.disabled, _), (_, .disabled):
            .success(.unencrypted)
        default:
            .success(.aes256GCM)
        }
    }
}

/// Why two encryption modes cannot agree (one side disabled, the other required).
public struct MigrationNegotiationFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// A sentence for logs and the coordinator.
    public let reason: String
    public var description: String { reason }
}

/// The protection of a migration stream after `specAccepted`, as negotiated. Codable as `"none"` or
/// `"aes-256-gcm"` (the value `MigrationResult` and `DestinationReport` show under `encryption`).
public enum MigrationStreamCipher: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    /// The stream stays in clear.
    case unencrypted = "none"
    /// Every byte after `specAccepted` travels in `SecureChannel` records.
    case aes256GCM = "aes-256-gcm"

    /// The byte carried in `specAccepted`.
    public var wireValue: UInt8 {
        switch self {
        case .unencrypted: 0
        case .aes256GCM: 1
        }
    }

    /// The cipher of a `specAccepted` byte; nil for an unknown value.
    public init?(wireValue: UInt8) {
        switch wireValue {
        case 0: self = .unencrypted
        case 1: self = .aes256GCM
        default: return nil
        }
    }

    public var description: String { rawValue }
}

/// A 16-byte value each side draws fresh for every migration (the source's goes in `hello`, the
/// destination's in `specAccepted`); both feed the stream keys, so no two migrations share a key even
/// if the coordinator reused one.
public struct MigrationNonce: Sendable, Hashable, CustomStringConvertible {
    /// Bytes in a nonce.
    public static let length = 16
    /// The nonce's 16 bytes.
    public let bytes: [UInt8]

    /// Takes exactly 16 bytes; anything else is nil.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == Self.length else { return nil }
        self.bytes = Array(bytes)
    }

    /// A nonce from the system's cryptographic random generator.
    public static func random() -> Self {
        var generator = SystemRandomNumberGenerator()
        return Self(bytes: (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })!
    }

    public var description: String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }
}

/// What `hello` carries besides id and version: the source's encryption mode, its fresh nonce, and
/// `HMAC-SHA256(key, "l2motion hello v1" ‖ id ‖ mode ‖ nonce)`, which proves the source holds the
/// per-migration key without showing it.
public struct HelloAuthentication: Sendable, Equatable {
    /// Bytes in the authentication code.
    public static let macLength = 32
    public var encryption: MigrationEncryptionMode
    public var nonce: MigrationNonce
    /// The 32-byte HMAC-SHA256.
    public var mac: [UInt8]

    /// `mac` must be 32 bytes (a shorter one is padded with zeros, a longer one cut: it then fails to verify).
    public init(encryption: MigrationEncryptionMode, nonce: MigrationNonce, mac: [UInt8]) {
        self.encryption = encryption
        self.nonce = nonce
        self.mac = Array((mac + [UInt8](repeating: 0, count: Self.macLength)).prefix(Self.macLength))
    }

    /// Computes the authentication code of a hello for `id` with `key`.
    public init(id: MigrationID, encryption: MigrationEncryptionMode, nonce: MigrationNonce, key: MigrationSecret) {
        self.init(encryption: encryption, nonce: nonce,
                  mac: Array(HMAC<SHA256>.authenticationCode(for: Self.authenticatedBytes(id: id, encryption: encryption, nonce: nonce),
                                                             using: key.symmetricKey)))
    }

    /// True when `mac` is the code of this hello under `key` (constant-time comparison).
    public func isValid(id: MigrationID, key: MigrationSecret) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Self.authenticatedBytes(id: id, encryption: encryption, nonce: nonce),
                                               using: key.symmetricKey)
    }

    static func authenticatedBytes(id: MigrationID, encryption: MigrationEncryptionMode, nonce: MigrationNonce) -> [UInt8] {
        var bytes = Array("l2motion hello v1".utf8)
        bytes.appendBigEndian(id.high)
        bytes.appendBigEndian(id.low)
        bytes.append(encryption.wireValue)
        bytes.append(contentsOf: nonce.bytes)
        return bytes
    }
}

/// What `specAccepted` carries: the chosen stream cipher, the destination's fresh nonce, and
/// `HMAC-SHA256(key, "l2motion accept v1" ‖ id ‖ cipher ‖ source nonce ‖ destination nonce ‖ SHA-256(spec message))`,
/// which proves to the source that the destination holds the key, saw this hello and this spec, and
/// chose this cipher (a man in the middle can neither downgrade the cipher nor alter the clear spec).
public struct SpecAcceptance: Sendable, Equatable {
    public var cipher: MigrationStreamCipher
    public var nonce: MigrationNonce
    /// The 32-byte HMAC-SHA256.
    public var mac: [UInt8]

    /// `mac` must be 32 bytes (a shorter one is padded with zeros, a longer one cut: it then fails to verify).
    public init(cipher: MigrationStreamCipher, nonce: MigrationNonce, mac: [UInt8]) {
        self.cipher = cipher
        self.nonce = nonce
        self.mac = Array((mac + [UInt8](repeating: 0, count: HelloAuthentication.macLength)).prefix(HelloAuthentication.macLength))
    }

    /// Computes the acceptance of `spec` for the hello of `id` carrying `sourceNonce`.
    public init(id: MigrationID, cipher: MigrationStreamCipher, sourceNonce: MigrationNonce, nonce: MigrationNonce,
                spec: MigrationSpec, key: MigrationSecret) {
        let bytes = Self.authenticatedBytes(id: id, cipher: cipher, sourceNonce: sourceNonce, destinationNonce: nonce, spec: spec)
        self.init(cipher: cipher, nonce: nonce,
                  mac: Array(HMAC<SHA256>.authenticationCode(for: bytes, using: key.symmetricKey)))
    }

    /// True when `mac` is the code of this acceptance under `key` (constant-time comparison).
    public func isValid(id: MigrationID, sourceNonce: MigrationNonce, spec: MigrationSpec, key: MigrationSecret) -> Bool {
        let bytes = Self.authenticatedBytes(id: id, cipher: cipher, sourceNonce: sourceNonce, destinationNonce: nonce, spec: spec)
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: bytes, using: key.symmetricKey)
    }

    static func authenticatedBytes(id: MigrationID, cipher: MigrationStreamCipher, sourceNonce: MigrationNonce,
                                   destinationNonce: MigrationNonce, spec: MigrationSpec) -> [UInt8] {
        var bytes = Array("l2motion accept v1".utf8)
        bytes.appendBigEndian(id.high)
        bytes.appendBigEndian(id.low)
        bytes.append(cipher.wireValue)
        bytes.append(contentsOf: sourceNonce.bytes)
        bytes.append(contentsOf: destinationNonce.bytes)
        // The spec's encoding is canonical (the decoder accepts exactly what the encoder writes), so both
        // sides hash the same bytes.
        bytes.append(contentsOf: SHA256.hash(data: MigrationEncoder.encode(.spec(spec))))
        return bytes
    }
}

extension MigrationSecret {
    /// The secret as a Crypto key (HMAC key, HKDF input).
    var symmetricKey: SymmetricKey { SymmetricKey(data: bytes) }
}
