import L2Guest
import L2Wire

/// Constants of the l2motion migration wire protocol.
///
/// Every message is a 12-byte header followed by `length` payload bytes, all integers big-endian:
///
/// | offset | len | field |
/// |---|---|---|
/// | 0 | 4 | magic `"L2MV"` (0x4C324D56) |
/// | 4 | 1 | protocol version (4; 3 had no post-copy, 2 no switchover-ack, lane-hello or three-time `resumed`, 1 no zero-range records) |
/// | 5 | 1 | message type (`MigrationMessageType`) |
/// | 6 | 2 | flags (none defined: must be 0) |
/// | 8 | 4 | payload length |
///
/// `hello` (67 bytes): `id u64 u64, version u16, encryption mode u8 (0 disabled, 1 opportunistic,
/// 2 required), source nonce [16], HMAC-SHA256 [32]`. `specAccepted` (49 bytes): `cipher u8 (0 none,
/// 1 AES-256-GCM), destination nonce [16], HMAC-SHA256 [32]` (see `HelloAuthentication`,
/// `SpecAcceptance`). Once `specAccepted` chose AES-256-GCM, the messages after it travel inside
/// `SecureChannel` records in both directions.
///
/// `laneHello` (50 bytes): `id u64 u64, lane u16, HMAC-SHA256 [32]` (see `LaneHello`): the first
/// message of each extra page connection of a migration with several lanes, always in clear; with
/// AES-256-GCM the lane's bytes after it are `SecureChannel` records under the lane's own keys.
///
/// A page batch's payload is `round u32, count u32`, then `count` records of
/// `page index u64, kind u8` followed, for kind 1 (normal), by the page's 4096 bytes, and for kind 2
/// (zero range) by `pages u64`: that many pages from the index on are all zero. A zero page (kind 0)
/// costs 9 bytes instead of 4105; a zero range 17 bytes for any number of pages (round 1 sends one for
/// each run of pages the kernel never backed).
///
/// Post-copy (version 4): `postcopyStart` carries what `switchover` carries minus the digest, plus the
/// pages the destination does not hold yet as `count u32` ranges of `first u64, pages u64`;
/// `pageRequest` (destination to source) `count u32` page indices `u64`; post-copy pages travel in
/// page batches of round `postcopyRound`; `postcopyEnd` `pages u64, digest u64` ends them.
public enum MigrationWire {
    /// `"L2MV"` as a big-endian 32-bit value.
    public static let magic: UInt32 = 0x4C32_4D56
    /// The only version this implementation speaks. 4 added post-copy (`postcopy-start`,
    /// `page-request`, `postcopy-end`); 2 added the zero-range page record; 3 the
    /// switchover-ack (`switchover-query`, `switchover-ready`, `switchover-refused`), the
    /// destination's switchover moments in `resumed` and `lane-hello` for several streams. A host of another version refuses the first
    /// header with a message naming both versions, rather than failing on a message it does not know
    /// in the middle of a migration.
    public static let version: UInt8 = 4
    /// The round number of post-copy page batches (after the switchover, pages the destination lacks).
    public static let postcopyRound = UInt32.max
    /// The most pages one `pageRequest` may name.
    public static let maxRequestPages = 4096
    /// A lane hello of lane `recoveryLaneBase + g` reopens a paused post-copy migration (generation
    /// g ≥ 1) instead of adding a lane; its bytes are sealed with that lane's keys.
    public static let recoveryLaneBase: UInt16 = 0x8000
    /// Bytes in a message header.
    public static let headerLength = 12
    /// The default cap on a message payload; a header announcing more is rejected before any payload arrives.
    public static let defaultMaxPayloadLength = 4 << 20
    /// Bytes before the first record of a page batch (round, count).
    public static let pageBatchPrefixLength = 8
    /// Bytes of a page record before its page contents (index, kind).
    public static let pageRecordHeaderLength = 9
    /// The page size the protocol carries.
    public static let pageSize = GuestMemory.pageSize
    /// The longest string (name, label, reason) a message may carry, in UTF-8 bytes.
    public static let maxStringLength = 1024
    /// The longest forwarded or queued frame, in bytes.
    public static let maxFrameLength = 65_535
    /// The most lanes (TCP connections carrying pages) one migration may use, lane 0 included.
    public static let maxLanes = 16
}

/// The type byte of a migration message. An open set: unknown values print as their number.
public struct MigrationMessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let hello = Self(rawValue: 1)
    public static let spec = Self(rawValue: 2)
    public static let specAccepted = Self(rawValue: 3)
    public static let specRejected = Self(rawValue: 4)
    public static let pageBatch = Self(rawValue: 5)
    public static let roundEnd = Self(rawValue: 6)
    public static let switchover = Self(rawValue: 7)
    public static let verified = Self(rawValue: 8)
    public static let verifyFailed = Self(rawValue: 9)
    public static let resumed = Self(rawValue: 10)
    public static let forwardedFrame = Self(rawValue: 11)
    public static let commit = Self(rawValue: 12)
    public static let abort = Self(rawValue: 13)
    public static let switchoverQuery = Self(rawValue: 14)
    public static let switchoverReady = Self(rawValue: 15)
    public static let switchoverRefused = Self(rawValue: 16)
    /// Opens an extra lane of a multi-stream migration (types 14–16 belong to the switchover acknowledgement).
    public static let laneHello = Self(rawValue: 17)
    /// Post-copy: the VM resumes on the destination with the pages it lacks listed.
    public static let postcopyStart = Self(rawValue: 18)
    /// Post-copy: the destination asks for pages its VM touched and it lacks.
    public static let pageRequest = Self(rawValue: 19)
    /// Post-copy: every missing page was sent; the digest of the memory at the switchover.
    public static let postcopyEnd = Self(rawValue: 20)
    /// Post-copy recovery: the destination's answer on the new connection: the pages it still lacks.
    public static let postcopyRecovered = Self(rawValue: 21)

    static let names: [UInt8: String] = [
        1: "hello", 2: "spec", 3: "spec-accepted", 4: "spec-rejected", 5: "page-batch", 6: "round-end",
        7: "switchover", 8: "verified", 9: "verify-failed", 10: "resumed", 11: "forwarded-frame",
        12: "commit", 13: "abort", 14: "switchover-query", 15: "switchover-ready", 16: "switchover-refused",
        17: "lane-hello", 18: "postcopy-start", 19: "page-request", 20: "postcopy-end", 21: "postcopy-recovered",
    ]

    /// True for the types this version defines.
    public var isKnown: Bool { Self.names[rawValue] != nil }

    public var description: String { Self.names[rawValue] ?? "type \(rawValue)" }
}

/// A migration's 128-bit identifier, chosen by the coordinator and given to both hosts.
public struct MigrationID: Hashable, Sendable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses 32 hex digits, optionally with dashes (UUID style).
    public init?(_ text: String) {
        let digits = text.filter { $0 != "-" }
        guard digits.count == 32, let high = UInt64(digits.prefix(16), radix: 16),
              let low = UInt64(digits.suffix(16), radix: 16) else { return nil }
        self.init(high: high, low: low)
    }

    public var description: String {
        func hex(_ value: UInt64) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: 16 - text.count) + text
        }
        let all = Array(hex(high) + hex(low))
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(all[$0]) }.joined(separator: "-")
    }
}

/// The per-migration 256-bit key the coordinator hands both hosts. It never crosses the migration
/// connection: the source proves it holds it with an HMAC-SHA256 in `hello`, the destination with one in
/// `specAccepted`, and the stream keys of `SecureChannel` are derived from it with HKDF. Its description
/// never shows the bytes.
public struct MigrationSecret: Sendable, Equatable, CustomStringConvertible {
    /// Bytes in a secret.
    public static let length = 32
    let words: (UInt64, UInt64, UInt64, UInt64)

    /// Takes exactly 32 bytes; anything else is nil.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == Self.length else { return nil }
        var values = [UInt64](repeating: 0, count: 4)
        for (offset, byte) in bytes.enumerated() { values[offset / 8] = values[offset / 8] << 8 | UInt64(byte) }
        words = (values[0], values[1], values[2], values[3])
    }

    /// The secret's 32 bytes.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.length)
        for word in [words.0, words.1, words.2, words.3] { out.appendBigEndian(word) }
        return out
    }

    /// Compares in constant time (no early exit on the first differing byte).
    public static func == (lhs: Self, rhs: Self) -> Bool {
        let difference = (lhs.words.0 ^ rhs.words.0) | (lhs.words.1 ^ rhs.words.1)
            | (lhs.words.2 ^ rhs.words.2) | (lhs.words.3 ^ rhs.words.3)
        return difference == 0
    }

    public var description: String { "MigrationSecret(32 bytes, redacted)" }
}

/// What the source wants to migrate and what it needs at the destination (the `spec` message).
public struct MigrationSpec: Sendable, Equatable {
    public var vmName: String
    public var mac: MACAddress
    public var ip: IPv4Address
    public var memoryBytes: UInt64
    public var pageSize: UInt32
    /// The VM's port group label; the destination must have one identical to it, case included.
    public var portGroup: String
    /// The datastore holding the VM's files; the destination must mount it under the same name.
    public var datastore: String

    public init(vmName: String, mac: MACAddress, ip: IPv4Address, memoryBytes: UInt64,
                pageSize: UInt32 = UInt32(GuestMemory.pageSize), portGroup: String, datastore: String) {
        self.vmName = vmName
        self.mac = mac
        self.ip = ip
        self.memoryBytes = memoryBytes
        self.pageSize = pageSize
        self.portGroup = portGroup
        self.datastore = datastore
    }
}

/// What crosses at switchover besides memory: the stunned VM's execution state, the frames queued for
/// it while stunned, and the digest over the hashes of every page as last sent.
public struct SwitchoverState: Sendable, Equatable {
    /// The number of the final round (its pages precede this message).
    public var finalRound: UInt32
    public var vcpuState: [UInt8]
    public var workloadState: [UInt8]
    /// Frames that reached the source for the VM from the stun on, oldest first.
    public var queuedFrames: [[UInt8]]
    /// Pages in the VM's memory.
    public var pageCount: UInt64
    /// `PageHash.Running` over the per-page hashes of the bytes the source sent (kept up to date as
    /// pages go out, so it costs nothing inside the stun).
    public var memoryDigest: UInt64

    public init(finalRound: UInt32, vcpuState: [UInt8], workloadState: [UInt8], queuedFrames: [[UInt8]],
                pageCount: UInt64, memoryDigest: UInt64) {
        self.finalRound = finalRound
        self.vcpuState = vcpuState
        self.workloadState = workloadState
        self.queuedFrames = queuedFrames
        self.pageCount = pageCount
        self.memoryDigest = memoryDigest
    }
}

/// Post-copy's switchover message: the stunned VM's state as in `SwitchoverState` (without a digest:
/// the pages are not all there yet) and the pages the destination does not hold, as ranges.
public struct PostcopyStart: Sendable, Equatable {
    /// The last pre-copy round before it (0: post-copy from the start).
    public var lastRound: UInt32
    public var vcpuState: [UInt8]
    public var workloadState: [UInt8]
    public var queuedFrames: [[UInt8]]
    public var pageCount: UInt64
    /// Pages the destination lacks (never sent, or dirtied after they were), as `first..<first+count`.
    public var missing: [Range<UInt64>]

    public init(lastRound: UInt32, vcpuState: [UInt8], workloadState: [UInt8], queuedFrames: [[UInt8]],
                pageCount: UInt64, missing: [Range<UInt64>]) {
        self.lastRound = lastRound
        self.vcpuState = vcpuState
        self.workloadState = workloadState
        self.queuedFrames = queuedFrames
        self.pageCount = pageCount
        self.missing = missing
    }

    /// How many pages `missing` covers.
    public var missingPages: UInt64 { missing.reduce(0) { $0 + UInt64($1.count) } }
}

/// One decoded migration message.
public enum MigrationMessage: Sendable, Equatable {
    /// The source's first message: the migration, the protocol version, and the proof that it holds the
    /// migration key (with its encryption mode and nonce). Always in clear.
    case hello(id: MigrationID, protocolVersion: UInt16, authentication: HelloAuthentication)
    case spec(MigrationSpec)
    /// The destination's answer: the chosen cipher, its nonce and its proof. Always in clear; with a
    /// cipher other than `none` every later byte of both directions is in `SecureChannel` records.
    case specAccepted(SpecAcceptance)
    case specRejected(reason: String)
    case pageBatch(PageBatch)
    case roundEnd(round: UInt32, pages: UInt64, bytes: UInt64)
    case switchover(SwitchoverState)
    /// The destination's digest over the pages it holds, equal to the source's.
    case verified(digest: UInt64)
    case verifyFailed(reason: String)
    /// The destination resumed the VM at this time (ns on the wall clock the drivers share), after
    /// the switchover message arrived (`arrivedAt`) and its digest matched (`verifiedAt`), on the same clock.
    case resumed(atNanoseconds: UInt64, arrivedAtNanoseconds: UInt64, verifiedAtNanoseconds: UInt64)
    case forwardedFrame([UInt8])
    case commit
    case abort(reason: String)
    /// switchover-ack: the source is about to stun; can the destination resume at once?
    case switchoverQuery
    /// The destination can resume at once; what it checked, in words.
    case switchoverReady(detail: String)
    /// The destination cannot resume (port group gone, uplink down, memory not there): the VM must
    /// stay on the source. The destination discards its copy after sending it.
    case switchoverRefused(reason: String)
    /// The first message of lane `hello.lane` (1 or more) of a multi-stream migration, in clear.
    case laneHello(LaneHello)
    /// Post-copy's switchover: the VM's state and the pages the destination lacks; it resumes at once.
    case postcopyStart(PostcopyStart)
    /// Post-copy: pages the destination's VM is waiting for (they jump ahead of the background push).
    case pageRequest(pages: [UInt64])
    /// Post-copy: every page the destination lacked was sent (`pages` of them in post-copy batches);
    /// `digest` is over the hashes of every page as the source holds it since the stun.
    case postcopyEnd(pages: UInt64, digest: UInt64)
    /// Post-copy recovery: on the connection a paused migration resumed over (opened by a lane hello of
    /// lane `MigrationWire.recoveryLaneBase + generation`), the pages the destination still lacks.
    case postcopyRecovered(missing: [Range<UInt64>])

    /// The message's type byte.
    public var type: MigrationMessageType {
        switch self {
        case .hello: .hello
        case .spec: .spec
        case .specAccepted: .specAccepted
        case .specRejected: .specRejected
        case .pageBatch: .pageBatch
        case .roundEnd: .roundEnd
        case .switchover: .switchover
        case .verified: .verified
        case .verifyFailed: .verifyFailed
        case .resumed: .resumed
        case .forwardedFrame: .forwardedFrame
        case .commit: .commit
        case .abort: .abort
        case .switchoverQuery: .switchoverQuery
        case .switchoverReady: .switchoverReady
        case .switchoverRefused: .switchoverRefused
        case .laneHello: .laneHello
        case .postcopyStart: .postcopyStart
        case .pageRequest: .pageRequest
        case .postcopyEnd: .postcopyEnd
        case .postcopyRecovered: .postcopyRecovered
        }
    }
}

/// A decoded, fully validated page batch. `records` is a slice of the decoder's receive buffer: the
/// pages are not copied until the destination stores them.
public struct PageBatch: Sendable, Equatable {
    public let round: UInt32
    /// Records in the batch.
    public let count: Int
    /// Records with page contents.
    public let normalCount: Int
    /// Pages the records cover (a zero range covers many).
    public let pageCount: Int
    /// The record bytes (already checked: every index and range inside memory, every kind known,
    /// exact length).
    public let records: ArraySlice<UInt8>

    /// One record of a batch.
    public enum Record {
        /// A page's 4096 bytes, pointing into the receive buffer (valid only during the call).
        case page(index: Int, contents: UnsafeRawBufferPointer)
        /// Pages that are all zero (one page for a zero record, many for a zero range).
        case zero(pages: Range<Int>)
    }

    /// Calls `body` for each record in order.
    public func forEachRecord(_ body: (Record) throws -> Void) rethrows {
        try records.withUnsafeBytes { raw in
            var offset = 0
            for _ in 0..<count {
                let index = Int(truncatingIfNeeded: raw.loadBigEndianUInt64(at: offset))
                let kind = raw[offset + 8]
                offset += MigrationWire.pageRecordHeaderLength
                switch kind {
                case PageRecordKind.normal:
                    try body(.page(index: index, contents: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + MigrationWire.pageSize])))
                    offset += MigrationWire.pageSize
                case PageRecordKind.zeroRange:
                    let pages = Int(truncatingIfNeeded: raw.loadBigEndianUInt64(at: offset))
                    offset += 8
                    try body(.zero(pages: index..<index + pages))
                default:
                    try body(.zero(pages: index..<index + 1))
                }
            }
        }
    }

    /// Calls `body` for each page in order, a zero range page by page. `contents` is nil for a zero
    /// page; otherwise it points into the receive buffer and is valid only during the call.
    public func forEachPage(_ body: (_ index: Int, _ contents: UnsafeRawBufferPointer?) throws -> Void) rethrows {
        try forEachRecord { record in
            switch record {
            case let .page(index, contents): try body(index, contents)
            case let .zero(pages): for index in pages { try body(index, nil) }
            }
        }
    }
}

/// The kind byte of a page record.
enum PageRecordKind {
    static let zero: UInt8 = 0
    static let normal: UInt8 = 1
    static let zeroRange: UInt8 = 2
}
