/// Why a migration byte stream or message was refused. The decoder and both state machines throw or
/// report this; none of them traps on any input. Each description says what was expected and found.
public enum MigrationProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The stream does not start a message with "L2MV": not an l2motion migration peer, or the stream
    /// lost its framing.
    case badMagic(found: UInt32)
    case unsupportedVersion(found: UInt8, supported: UInt8)
    case unknownMessageType(UInt8)
    case unknownFlags(UInt16, type: MigrationMessageType)
    case payloadTooLarge(length: Int, limit: Int, type: MigrationMessageType)
    /// The payload does not have the layout its type requires (truncated field, trailing bytes, bad UTF-8…).
    case malformedPayload(type: MigrationMessageType, detail: String)
    case pageIndexOutOfRange(index: UInt64, pageCount: Int)
    /// A page batch arrived before the receiver knew the VM's memory size.
    case pageBatchWithoutMemory
    case unknownPageKind(UInt8, index: UInt64)
    /// The message is valid but not allowed in the receiver's current phase.
    case unexpectedMessage(MigrationMessageType, phase: String)
    /// A round number, page count or digest disagrees with what the receiver counted.
    case inconsistent(String)
    /// An earlier error already stopped this decoder.
    case decoderFailed(previous: String)
    /// The peer could not prove it holds the migration key (hello or acceptance code wrong).
    case authenticationFailed(String)
    /// A hello for a migration this endpoint has already accepted a hello for: each id is used once.
    case duplicateHello(MigrationID)
    /// The encrypted stream was rejected (tampered, replayed, reordered, dropped or truncated record).
    case secureChannel(SecureChannelError)

    public var description: String {
        switch self {
        case let .badMagic(found):
            "bad magic 0x\(String(found, radix: 16)) (expected 0x4c324d56 \"L2MV\"): the peer is not an l2motion migration endpoint or the stream lost its framing"
        case let .unsupportedVersion(found, supported):
            "protocol version \(found) is not supported (this host speaks version \(supported)); run the same l2motion build on both hosts"
        case let .unknownMessageType(type):
            "unknown message type \(type); the peer speaks a newer or different protocol"
        case let .unknownFlags(flags, type):
            "\(type) message has unknown flags 0x\(String(flags, radix: 16)); version \(MigrationWire.version) defines none"
        case let .payloadTooLarge(length, limit, type):
            "\(type) message announces \(length) payload bytes, over the limit of \(limit)"
        case let .malformedPayload(type, detail):
            "malformed \(type) message: \(detail)"
        case let .pageIndexOutOfRange(index, pageCount):
            "page index \(index) is outside the VM's memory of \(pageCount) pages"
        case .pageBatchWithoutMemory:
            "page batch received before the VM's memory was allocated"
        case let .unknownPageKind(kind, index):
            "page \(index) has unknown record kind \(kind) (0 = zero page, 1 = normal page)"
        case let .unexpectedMessage(type, phase):
            "\(type) message is out of order while \(phase)"
        case let .inconsistent(detail):
            "inconsistent stream: \(detail)"
        case let .decoderFailed(previous):
            "the stream was already rejected: \(previous)"
        case let .authenticationFailed(detail):
            "authentication failed: \(detail)"
        case let .duplicateHello(id):
            "a second hello for migration \(id), which this host already accepted: a migration id is used once"
        case let .secureChannel(error):
            "\(error)"
        }
    }
}
