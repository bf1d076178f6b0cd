import Crypto
import Foundation

/// Why `SecureChannel` refused a record. After a receive error the receiving direction stays failed
/// (the stream has lost its integrity) and every later `open` throws `channelFailed`; sealing still
/// works, so an endpoint can tell its peer why it stops.
public enum SecureChannelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Record number `record` (0-based, per direction) did not authenticate: a bit flipped on the way,
    /// a record replayed, reordered or dropped (the counter is implicit), or a peer with another key.
    case authenticationFailed(record: UInt64)
    /// A record header announces `length` bytes of ciphertext, which is 0 or over `limit`.
    case badRecordLength(length: Int, limit: Int, record: UInt64)
    /// The stream ended inside record `record`.
    case truncatedRecord(bufferedBytes: Int, record: UInt64)
    /// All 2^64 record numbers of this direction are used: no nonce is left for this key.
    case counterExhausted
    /// The cipher library refused an operation (not expected with a valid key).
    case cryptoFailure(String)
    /// An earlier error already stopped this channel.
    case channelFailed(previous: String)

    public var description: String {
        switch self {
        case let .authenticationFailed(record):
            "encrypted record \(record) failed authentication: it was altered, replayed, reordered or dropped, or the peer uses another key"
        case let .badRecordLength(length, limit, record):
            "encrypted record \(record) announces \(length) bytes (allowed: 1 to \(limit)): the stream is corrupt or not encrypted"
        case let .truncatedRecord(buffered, record):
            "the stream ended inside encrypted record \(record) (\(buffered) bytes of it received)"
        case .counterExhausted:
            "the record counter is exhausted: no record may be sealed with this key again"
        case let .cryptoFailure(detail):
            "AES-GCM failed: \(detail)"
        case let .channelFailed(previous):
            "the encrypted stream was already rejected: \(previous)"
        }
    }
}

/// AES-256-GCM over one migration connection, both directions, sans I/O.
///
/// The byte stream of each direction is cut into records `[u32 length][ciphertext][16-byte tag]`
/// (big-endian length of the ciphertext, 1 to `maxRecordLength`; the 4 length bytes are authenticated
/// data). Each direction has its own key, derived with HKDF-SHA256 from the migration key, salted with
/// both handshake nonces and bound to the migration id, and its own 96-bit nonce sequence: a 4-byte
/// direction constant followed by a 64-bit record counter starting at 0. The counter is never sent, so
/// a replayed, reordered or dropped record fails its tag; the counter never wraps (sealing past
/// 2^64 − 1 records throws).
///
/// `seal` appends records to an output buffer; `open` takes received bytes in chunks split anywhere
/// and appends the plaintext of each complete record.
public struct SecureChannel: Sendable {
    /// Which end of the migration this channel serves (it seals with its own direction's key).
    public enum Role: Sendable, Equatable {
        case source, destination
    }

    /// Bytes of a record's length field.
    public static let recordHeaderLength = 4
    /// Bytes of a record's GCM tag.
    public static let tagLength = 16
    /// Bytes a record adds to its plaintext.
    public static let recordOverhead = recordHeaderLength + tagLength
    /// The default (and largest) plaintext per record: 256 KiB.
    public static let defaultMaxRecordLength = 256 << 10
    /// The first 4 nonce bytes of records from the source ("L2SD").
    static let sourceToDestinationConstant: UInt32 = 0x4C32_5344
    /// The first 4 nonce bytes of records from the destination ("L2DS").
    static let destinationToSourceConstant: UInt32 = 0x4C32_4453

    public let role: Role
    /// The most plaintext one record carries (and the most a received header may announce).
    public let maxRecordLength: Int

    private let sendKey: KeyBox
    private let receiveKey: KeyBox
    private let sendConstant: UInt32
    private let receiveConstant: UInt32
    /// The counter of the next record to seal (its nonce); `sealExhausted` once 2^64 − 1 was used.
    public private(set) var sealCounter: UInt64
    private var sealExhausted = false
    /// The counter of the next record expected.
    public private(set) var openCounter: UInt64
    private var openExhausted = false
    private var pending: [UInt8] = []
    private var pendingStart = 0
    private var failure: SecureChannelError?

    /// The channel of one end of migration `id`, keyed from `secret` and both handshake nonces.
    /// `maxRecordLength` is clamped to 1…256 KiB (both ends must use the same value to talk).
    public init(secret: MigrationSecret, id: MigrationID, sourceNonce: MigrationNonce, destinationNonce: MigrationNonce,
                role: Role, maxRecordLength: Int = SecureChannel.defaultMaxRecordLength) {
        let keys = Self.deriveKeys(secret: secret, id: id, sourceNonce: sourceNonce, destinationNonce: destinationNonce)
        self.init(sourceToDestination: keys.sourceToDestination, destinationToSource: keys.destinationToSource,
                  role: role, maxRecordLength: maxRecordLength)
    }

    /// A channel from explicit direction keys; the counters may start elsewhere than 0 (tests of exhaustion).
    init(sourceToDestination: SymmetricKey, destinationToSource: SymmetricKey, role: Role,
         maxRecordLength: Int = SecureChannel.defaultMaxRecordLength, sealCounter: UInt64 = 0, openCounter: UInt64 = 0) {
        self.role = role
        self.maxRecordLength = max(1, min(maxRecordLength, Self.defaultMaxRecordLength))
        let outgoing = role == .source ? sourceToDestination : destinationToSource
        let incoming = role == .source ? destinationToSource : sourceToDestination
        sendKey = KeyBox(outgoing)
        receiveKey = KeyBox(incoming)
        sendConstant = role == .source ? Self.sourceToDestinationConstant : Self.destinationToSourceConstant
        receiveConstant = role == .source ? Self.destinationToSourceConstant : Self.sourceToDestinationConstant
        self.sealCounter = sealCounter
        self.openCounter = openCounter
    }

    /// The two stream keys of migration `id`: HKDF-SHA256 with the migration key as input keying
    /// material, `source nonce ‖ destination nonce` as salt, and
    /// `"l2motion v1 source->destination" ‖ id` (or `destination->source`) as info.
    public static func deriveKeys(secret: MigrationSecret, id: MigrationID, sourceNonce: MigrationNonce,
                                  destinationNonce: MigrationNonce) -> (sourceToDestination: SymmetricKey, destinationToSource: SymmetricKey) {
        let salt = sourceNonce.bytes + destinationNonce.bytes
        func info(_ label: String) -> [UInt8] {
            var bytes = Array("l2motion v1 \(label)".utf8)
            bytes.appendBigEndian(id.high)
            bytes.appendBigEndian(id.low)
            return bytes
        }
        let input = secret.symmetricKey
        return (HKDF<SHA256>.deriveKey(inputKeyMaterial: input, salt: salt, info: info("source->destination"), outputByteCount: 32),
                HKDF<SHA256>.deriveKey(inputKeyMaterial: input, salt: salt, info: info("destination->source"), outputByteCount: 32))
    }

    /// Bytes received but not yet opened (a partial record).
    public var bufferedByteCount: Int { pending.count - pendingStart }

    /// The error that stopped the receiving direction, if any.
    public var error: SecureChannelError? { failure }

    /// Appends `plaintext` to `output` as records of at most `maxRecordLength` bytes (nothing for empty
    /// plaintext). Throws only when the record counter would pass 2^64 − 1; `output` is then unchanged.
    public mutating func seal(_ plaintext: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(SecureChannelError) {
        guard !plaintext.isEmpty else { return }
        let records = (plaintext.count + maxRecordLength - 1) / maxRecordLength
        guard !sealExhausted, UInt64(records - 1) <= UInt64.max - sealCounter else { throw .counterExhausted }
        output.reserveCapacity(output.count + plaintext.count + records * Self.recordOverhead)
        var offset = 0
        while offset < plaintext.count {
            let length = min(maxRecordLength, plaintext.count - offset)
            let record = UnsafeRawBufferPointer(rebasing: plaintext[offset..<offset + length])
            let header = UInt32(length).bigEndian
            let sealed: Data
            do {
                let nonce = try AES.GCM.Nonce(data: Self.nonceBytes(sendConstant, sealCounter))
                sealed = try withUnsafeBytes(of: header) { header in
                    try AES.GCM.seal(record, using: sendKey.key, nonce: nonce, authenticating: header).combined!
                }
            } catch {
                throw .cryptoFailure("\(error)")
            }
            withUnsafeBytes(of: header) { output.append(contentsOf: $0.assumingMemoryBound(to: UInt8.self)) }
            // `combined` is nonce ‖ ciphertext ‖ tag; the nonce is implicit on the wire.
            sealed.withUnsafeBytes { all in
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: all[12...]).assumingMemoryBound(to: UInt8.self))
            }
            if sealCounter == .max { sealExhausted = true } else { sealCounter += 1 }
            offset += length
        }
    }

    /// Appends `plaintext` to `output` as records (see the pointer variant).
    public mutating func seal(_ plaintext: [UInt8], into output: inout [UInt8]) throws(SecureChannelError) {
        var result: Result<Void, SecureChannelError> = .success(())
        plaintext.withUnsafeBytes { bytes in
            do throws(SecureChannelError) { try seal(bytes, into: &output) } catch { result = .failure(error) }
        }
        try result.get()
    }

    /// Takes received bytes (any split) and appends the plaintext of every record they complete to
    /// `plaintext`. Throws on a bad length, a tag that does not verify (tampered, replayed, reordered,
    /// dropped, wrong key) or an exhausted counter; records opened before the bad one stay appended.
    public mutating func open<C: Collection>(_ chunk: C, into plaintext: inout [UInt8]) throws(SecureChannelError)
    where C.Element == UInt8 {
        if let failure { throw .channelFailed(previous: failure.description) }
        if pendingStart == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingStart = 0
        } else if pendingStart > 0 && pendingStart >= pending.count / 2 {
            pending.removeFirst(pendingStart)
            pendingStart = 0
        }
        pending.append(contentsOf: chunk)
        do {
            try openPending(into: &plaintext)
        } catch {
            failure = error
            throw error
        }
    }

    /// Throws `truncatedRecord` if the stream stopped inside a record (call at end of stream).
    public func finish() throws(SecureChannelError) {
        if let failure { throw .channelFailed(previous: failure.description) }
        guard bufferedByteCount == 0 else { throw .truncatedRecord(bufferedBytes: bufferedByteCount, record: openCounter) }
    }

    // MARK: - Internals

    private mutating func openPending(into plaintext: inout [UInt8]) throws(SecureChannelError) {
        while pending.count - pendingStart >= Self.recordHeaderLength {
            let start = pendingStart
            let length = Int(pending[start]) << 24 | Int(pending[start + 1]) << 16 | Int(pending[start + 2]) << 8
                | Int(pending[start + 3])
            guard length >= 1 && length <= maxRecordLength else {
                throw .badRecordLength(length: length, limit: maxRecordLength, record: openCounter)
            }
            let total = Self.recordHeaderLength + length + Self.tagLength
            guard pending.count - start >= total else { return }
            guard !openExhausted else { throw .counterExhausted }
            let nonceBytes = Self.nonceBytes(receiveConstant, openCounter)
            let key = receiveKey.key
            let opened: Data? = pending.withUnsafeBytes { raw in
                let header = UnsafeRawBufferPointer(rebasing: raw[start..<start + Self.recordHeaderLength])
                let body = start + Self.recordHeaderLength
                let ciphertext = UnsafeRawBufferPointer(rebasing: raw[body..<body + length])
                let tag = UnsafeRawBufferPointer(rebasing: raw[body + length..<body + length + Self.tagLength])
                guard let nonce = try? AES.GCM.Nonce(data: nonceBytes),
                      let box = try? AES.GCM.SealedBox(nonce: nonce, ciphertext: ciphertext, tag: tag) else { return nil }
                return try? AES.GCM.open(box, using: key, authenticating: header)
            }
            guard let opened else { throw .authenticationFailed(record: openCounter) }
            opened.withUnsafeBytes { plaintext.append(contentsOf: $0.assumingMemoryBound(to: UInt8.self)) }
            pendingStart += total
            if openCounter == .max { openExhausted = true } else { openCounter += 1 }
        }
    }

    static func nonceBytes(_ constant: UInt32, _ counter: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(12)
        bytes.appendBigEndian(constant)
        bytes.appendBigEndian(counter)
        return bytes
    }
}

/// Holds an immutable key so a `Sendable` value can carry it (`SymmetricKey` is not marked `Sendable`,
/// but a key that is never mutated is safe to share).
final class KeyBox: @unchecked Sendable {
    let key: SymmetricKey
    init(_ key: SymmetricKey) { self.key = key }
}

/// Sending for the migration state machines, whose stream is in clear until `specAccepted` chose a
/// cipher and sealed after it. The first sealing error is kept in `failure` (the owner stops the
/// migration on it) and nothing more goes out.
extension Optional where Wrapped == SecureChannel {
    /// Appends `plaintext` to `output` as sealed records; in clear (no channel) as it is.
    mutating func appendWireBytes(of plaintext: [UInt8], to output: inout [UInt8], failure: inout SecureChannelError?) {
        guard case .some = self else {
            output.append(contentsOf: plaintext)
            return
        }
        guard failure == nil else { return }
        do throws(SecureChannelError) {
            try self!.seal(plaintext, into: &output)
        } catch {
            failure = error
        }
    }

    /// The bytes to put on the wire for `plaintext`: itself in clear, sealed records when encrypted,
    /// empty once sealing failed.
    mutating func wireBytes(for plaintext: [UInt8], failure: inout SecureChannelError?) -> [UInt8] {
        guard case .some = self else { return plaintext }
        var sealed: [UInt8] = []
        appendWireBytes(of: plaintext, to: &sealed, failure: &failure)
        return sealed
    }
}
