import L2Guest
import L2Wire

/// An incremental decoder for a migration byte stream: `append` chunks split anywhere, then call
/// `next()` until it returns nil. Malformed input throws a `MigrationProtocolError`; after that the
/// decoder stays failed (the stream has lost its framing) and every later call throws.
///
/// Header fields are checked as soon as their bytes arrive, so garbage is rejected without waiting
/// for a bogus payload length. Page batches are returned as slices of the receive buffer.
public struct MigrationDecoder: Sendable {
    /// Largest accepted payload.
    public var maxPayloadLength: Int
    /// Pages in the VM's memory; page indices must be below it. Nil until known: then a page batch is
    /// rejected.
    public var pageCount: Int?

    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var failure: MigrationProtocolError?

    public init(maxPayloadLength: Int = MigrationWire.defaultMaxPayloadLength, pageCount: Int? = nil) {
        self.maxPayloadLength = maxPayloadLength
        self.pageCount = pageCount
    }

    /// Bytes received but not yet returned as messages.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Moves to a sealed stream after the last clear message: the bytes received past it are already
    /// records of `secure`; they are opened and decoded as the rest of the stream will be.
    mutating func startDecrypting(with secure: inout SecureChannel) throws(SecureChannelError) {
        let unread = Array(buffer[readIndex...])
        buffer.removeAll(keepingCapacity: true)
        readIndex = 0
        var plaintext: [UInt8] = []
        try secure.open(unread, into: &plaintext)
        append(plaintext)
    }

    /// Takes the bytes received but not yet returned as messages, leaving the decoder empty: a driver
    /// that read a lane's first message hands the rest of the lane's bytes to the state machine.
    public mutating func takeUnread() -> [UInt8] {
        defer {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        }
        return Array(buffer[readIndex...])
    }

    /// The error that stopped the decoder, if any.
    public var error: MigrationProtocolError? { failure }

    /// Adds received bytes.
    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        guard failure == nil else { return }
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete message, or nil if more bytes are needed.
    public mutating func next() throws(MigrationProtocolError) -> MigrationMessage? {
        if let failure { throw .decoderFailed(previous: failure.description) }
        do {
            return try decodeNext()
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func decodeNext() throws(MigrationProtocolError) -> MigrationMessage? {
        let available = buffer.count - readIndex
        let start = readIndex
        if available >= 4 {
            let magic = readUInt32(at: start)
            guard magic == MigrationWire.magic else { throw .badMagic(found: magic) }
        }
        if available >= 5 {
            guard buffer[start + 4] == MigrationWire.version else {
                throw .unsupportedVersion(found: buffer[start + 4], supported: MigrationWire.version)
            }
        }
        let type = MigrationMessageType(rawValue: available >= 6 ? buffer[start + 5] : 0)
        if available >= 6 {
            guard type.isKnown else { throw .unknownMessageType(type.rawValue) }
        }
        if available >= 8 {
            let flags = UInt16(buffer[start + 6]) << 8 | UInt16(buffer[start + 7])
            guard flags == 0 else { throw .unknownFlags(flags, type: type) }
        }
        guard available >= MigrationWire.headerLength else { return nil }
        let length = Int(readUInt32(at: start + 8))
        guard length <= maxPayloadLength else {
            throw .payloadTooLarge(length: length, limit: maxPayloadLength, type: type)
        }
        guard available >= MigrationWire.headerLength + length else { return nil }
        let payloadStart = start + MigrationWire.headerLength
        let payload = buffer[payloadStart..<payloadStart + length]
        let message = try Self.decodePayload(type: type, payload: payload, pageCount: pageCount)
        readIndex = payloadStart + length
        return message
    }

    private func readUInt32(at offset: Int) -> UInt32 {
        UInt32(buffer[offset]) << 24 | UInt32(buffer[offset + 1]) << 16 | UInt32(buffer[offset + 2]) << 8
            | UInt32(buffer[offset + 3])
    }

    static func decodePayload(type: MigrationMessageType, payload: ArraySlice<UInt8>,
                              pageCount: Int?) throws(MigrationProtocolError) -> MigrationMessage {
        var reader = PayloadReader(payload, type: type)
        let message: MigrationMessage
        switch type {
        case .hello:
            let id = MigrationID(high: try reader.u64("migration id"), low: try reader.u64("migration id"))
            let version = try reader.u16("protocol version")
            let modeByte = try reader.u8("encryption mode")
            guard let mode = MigrationEncryptionMode(wireValue: modeByte) else {
                throw reader.fail("unknown encryption mode \(modeByte) (0 disabled, 1 opportunistic, 2 required)")
            }
            let nonce = MigrationNonce(bytes: try reader.take(MigrationNonce.length, "source nonce"))!
            let mac = Array(try reader.take(HelloAuthentication.macLength, "authentication code"))
            message = .hello(id: id, protocolVersion: version,
                             authentication: HelloAuthentication(encryption: mode, nonce: nonce, mac: mac))
        case .spec:
            let name = try reader.string("VM name")
            let mac = try reader.take(6, "MAC address")
            let ip = try reader.take(4, "IPv4 address")
            let memory = try reader.u64("memory bytes")
            let pageSize = try reader.u32("page size")
            let portGroup = try reader.string("port group")
            let datastore = try reader.string("datastore")
            message = .spec(MigrationSpec(
                vmName: name, mac: MACAddress(bytes: mac, at: mac.startIndex),
                ip: IPv4Address(bytes: ip, at: ip.startIndex), memoryBytes: memory, pageSize: pageSize,
                portGroup: portGroup, datastore: datastore))
        case .specAccepted:
            let cipherByte = try reader.u8("cipher")
            guard let cipher = MigrationStreamCipher(wireValue: cipherByte) else {
                throw reader.fail("unknown cipher \(cipherByte) (0 none, 1 AES-256-GCM)")
            }
            let nonce = MigrationNonce(bytes: try reader.take(MigrationNonce.length, "destination nonce"))!
            let mac = Array(try reader.take(HelloAuthentication.macLength, "authentication code"))
            message = .specAccepted(SpecAcceptance(cipher: cipher, nonce: nonce, mac: mac))
        case .commit:
            message = .commit
        case .specRejected:
            message = .specRejected(reason: try reader.string("reason"))
        case .verifyFailed:
            message = .verifyFailed(reason: try reader.string("reason"))
        case .abort:
            message = .abort(reason: try reader.string("reason"))
        case .switchoverQuery:
            message = .switchoverQuery
        case .switchoverReady:
            message = .switchoverReady(detail: try reader.string("detail"))
        case .switchoverRefused:
            message = .switchoverRefused(reason: try reader.string("reason"))
        case .pageBatch:
            message = .pageBatch(try decodePageBatch(&reader, pageCount: pageCount))
        case .roundEnd:
            message = .roundEnd(round: try reader.u32("round"), pages: try reader.u64("pages"),
                                bytes: try reader.u64("bytes"))
        case .switchover:
            let round = try reader.u32("final round")
            let (vcpu, workload, frames) = try decodeVMState(&reader)
            let pages = try reader.u64("page count")
            let digest = try reader.u64("memory digest")
            message = .switchover(SwitchoverState(finalRound: round, vcpuState: vcpu, workloadState: workload,
                                                  queuedFrames: frames, pageCount: pages, memoryDigest: digest))
        case .verified:
            message = .verified(digest: try reader.u64("digest"))
        case .resumed:
            message = .resumed(atNanoseconds: try reader.u64("resume time"),
                               arrivedAtNanoseconds: try reader.u64("switchover arrival time"),
                               verifiedAtNanoseconds: try reader.u64("verification time"))
        case .forwardedFrame:
            guard (1...MigrationWire.maxFrameLength).contains(reader.remaining) else {
                throw reader.fail("a forwarded frame must be 1 to \(MigrationWire.maxFrameLength) bytes, got \(reader.remaining)")
            }
            message = .forwardedFrame(Array(try reader.take(reader.remaining, "frame")))
        case .postcopyStart:
            let round = try reader.u32("last round")
            let (vcpu, workload, frames) = try decodeVMState(&reader)
            let pages = try reader.u64("page count")
            let missing = try decodeRanges(&reader, pageCount: pages)
            message = .postcopyStart(PostcopyStart(lastRound: round, vcpuState: vcpu, workloadState: workload,
                                                   queuedFrames: frames, pageCount: pages, missing: missing))
        case .pageRequest:
            let count = Int(try reader.u32("requested page count"))
            guard (1...MigrationWire.maxRequestPages).contains(count), count <= reader.remaining / 8 else {
                throw reader.fail("a page request names 1 to \(MigrationWire.maxRequestPages) pages, this one \(count) in \(reader.remaining) bytes")
            }
            var pages: [UInt64] = []
            pages.reserveCapacity(count)
            for _ in 0..<count {
                let page = try reader.u64("requested page")
                if let pageCount, page >= UInt64(pageCount) { throw .pageIndexOutOfRange(index: page, pageCount: pageCount) }
                pages.append(page)
            }
            message = .pageRequest(pages: pages)
        case .postcopyRecovered:
            guard let pageCount else { throw .pageBatchWithoutMemory }
            message = .postcopyRecovered(missing: try decodeRanges(&reader, pageCount: UInt64(pageCount)))
        case .postcopyEnd:
            message = .postcopyEnd(pages: try reader.u64("post-copy pages"), digest: try reader.u64("digest"))
        case .laneHello:
            let id = MigrationID(high: try reader.u64("migration id"), low: try reader.u64("migration id"))
            let lane = try reader.u16("lane")
            let mac = Array(try reader.take(HelloAuthentication.macLength, "authentication code"))
            message = .laneHello(LaneHello(id: id, lane: lane, mac: mac))
        default:
            throw .unknownMessageType(type.rawValue)
        }
        try reader.finish()
        return message
    }

    /// Page ranges (`count u32`, then `first u64, pages u64`): ascending, not overlapping, not empty,
    /// inside `pageCount` pages.
    static func decodeRanges(_ reader: inout PayloadReader, pageCount pages: UInt64) throws(MigrationProtocolError) -> [Range<UInt64>] {
        let rangeCount = Int(try reader.u32("missing range count"))
        guard rangeCount <= reader.remaining / 16 else {
            throw reader.fail("claims \(rangeCount) missing ranges in \(reader.remaining) bytes")
        }
        var missing: [Range<UInt64>] = []
        missing.reserveCapacity(rangeCount)
        var end: UInt64 = 0
        for _ in 0..<rangeCount {
            let first = try reader.u64("first missing page")
            let count = try reader.u64("missing pages")
            // Ranges ascend without overlap and stay inside memory, so a page is listed once.
            guard count > 0, first >= end, first <= pages, count <= pages - first else {
                throw reader.fail("missing range \(first) +\(count) is empty, out of order or outside \(pages) pages")
            }
            missing.append(first..<first + count)
            end = first + count
        }
        return missing
    }

    /// The VM's state as `switchover` and `postcopyStart` carry it: vCPU and workload blobs, queued frames.
    static func decodeVMState(_ reader: inout PayloadReader) throws(MigrationProtocolError) -> ([UInt8], [UInt8], [[UInt8]]) {
        let vcpu = try reader.blob("vCPU state", limit: MigrationWire.defaultMaxPayloadLength)
        let workload = try reader.blob("workload state", limit: MigrationWire.defaultMaxPayloadLength)
        let frameCount = Int(try reader.u32("queued frame count"))
        // Each frame needs at least its 4-byte length: a count beyond that is a lie, not a big batch.
        guard frameCount <= reader.remaining / 4 else {
            throw reader.fail("claims \(frameCount) queued frames in \(reader.remaining) bytes")
        }
        var frames: [[UInt8]] = []
        frames.reserveCapacity(frameCount)
        for _ in 0..<frameCount {
            frames.append(try reader.blob("queued frame", limit: MigrationWire.maxFrameLength))
        }
        return (vcpu, workload, frames)
    }

    static func decodePageBatch(_ reader: inout PayloadReader,
                                pageCount: Int?) throws(MigrationProtocolError) -> PageBatch {
        let round = try reader.u32("round")
        let count = Int(try reader.u32("record count"))
        guard let pageCount else { throw .pageBatchWithoutMemory }
        let recordsStart = reader.index
        var normal = 0
        var pages = 0
        for _ in 0..<min(count, reader.remaining / MigrationWire.pageRecordHeaderLength + 1) {
            let index = try reader.u64("page index")
            let kind = try reader.u8("page kind")
            guard index < UInt64(pageCount) else { throw .pageIndexOutOfRange(index: index, pageCount: pageCount) }
            switch kind {
            case PageRecordKind.zero:
                pages += 1
            case PageRecordKind.normal:
                _ = try reader.take(MigrationWire.pageSize, "contents of page \(index)")
                normal += 1
                pages += 1
            case PageRecordKind.zeroRange:
                let length = try reader.u64("zero range length")
                guard length >= 1, length <= UInt64(pageCount) - index else {
                    throw reader.fail("a zero range of \(length) pages from page \(index) does not fit the \(pageCount) pages of memory")
                }
                pages += Int(length)
            default:
                throw .unknownPageKind(kind, index: index)
            }
        }
        // The loop above is bounded by what the payload can hold; a larger count is a truncated batch.
        let parsed = reader.index - recordsStart
        let minimumForCount = count * MigrationWire.pageRecordHeaderLength
        guard parsed >= minimumForCount || count == 0 else {
            throw reader.fail("claims \(count) page records but the payload ends after \(parsed) record bytes")
        }
        let records = reader.bytes[recordsStart..<reader.index]
        return PageBatch(round: round, count: count, normalCount: normal, pageCount: pages, records: records)
    }
}

extension MigrationDecoder {
    /// Appends received bytes, opening them through `channel` first when the stream is encrypted.
    /// Records opened before a bad one are appended; the error (if any) is returned for the caller
    /// to act on after decoding what was valid. `scratch` is a reusable buffer.
    mutating func append<C: Collection>(_ bytes: C, through channel: inout SecureChannel?,
                                        scratch: inout [UInt8]) -> SecureChannelError? where C.Element == UInt8 {
        guard channel != nil else {
            append(bytes)
            return nil
        }
        scratch.removeAll(keepingCapacity: true)
        var failure: SecureChannelError?
        do throws(SecureChannelError) { try channel!.open(bytes, into: &scratch) } catch { failure = error }
        append(scratch)
        return failure
    }
}
