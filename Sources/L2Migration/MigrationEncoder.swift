import L2Guest
import L2Wire

/// Writes migration messages into byte buffers (appending; callers reuse and reserve buffers).
/// Strings longer than `MigrationWire.maxStringLength` are cut at a character boundary.
public enum MigrationEncoder {
    /// The bytes of one message.
    public static func encode(_ message: MigrationMessage) -> [UInt8] {
        var buffer: [UInt8] = []
        append(message, to: &buffer)
        return buffer
    }

    /// Appends one message to `buffer`.
    public static func append(_ message: MigrationMessage, to buffer: inout [UInt8]) {
        let lengthOffset = appendHeader(message.type, to: &buffer)
        let payloadStart = buffer.count
        switch message {
        case let .hello(id, version, authentication):
            buffer.appendBigEndian(id.high)
            buffer.appendBigEndian(id.low)
            buffer.appendBigEndian(version)
            buffer.append(authentication.encryption.wireValue)
            buffer.append(contentsOf: authentication.nonce.bytes)
            buffer.append(contentsOf: authentication.mac)
        case let .spec(spec):
            appendString(spec.vmName, to: &buffer)
            buffer.append(contentsOf: spec.mac.bytes)
            buffer.append(contentsOf: spec.ip.bytes)
            buffer.appendBigEndian(spec.memoryBytes)
            buffer.appendBigEndian(spec.pageSize)
            appendString(spec.portGroup, to: &buffer)
            appendString(spec.datastore, to: &buffer)
        case let .specAccepted(acceptance):
            buffer.append(acceptance.cipher.wireValue)
            buffer.append(contentsOf: acceptance.nonce.bytes)
            buffer.append(contentsOf: acceptance.mac)
        case .commit, .switchoverQuery:
            break
        case let .specRejected(reason), let .verifyFailed(reason), let .abort(reason), let .switchoverRefused(reason),
             let .switchoverReady(reason):
            appendString(reason, to: &buffer)
        case let .pageBatch(batch):
            buffer.appendBigEndian(batch.round)
            buffer.appendBigEndian(UInt32(batch.count))
            buffer.append(contentsOf: batch.records)
        case let .roundEnd(round, pages, bytes):
            buffer.appendBigEndian(round)
            buffer.appendBigEndian(pages)
            buffer.appendBigEndian(bytes)
        case let .switchover(state):
            buffer.appendBigEndian(state.finalRound)
            appendVMState(vcpu: state.vcpuState, workload: state.workloadState, frames: state.queuedFrames, to: &buffer)
            buffer.appendBigEndian(state.pageCount)
            buffer.appendBigEndian(state.memoryDigest)
        case let .verified(digest):
            buffer.appendBigEndian(digest)
        case let .resumed(at, arrived, verified):
            buffer.appendBigEndian(at)
            buffer.appendBigEndian(arrived)
            buffer.appendBigEndian(verified)
        case let .forwardedFrame(frame):
            buffer.append(contentsOf: frame)
        case let .postcopyStart(start):
            buffer.appendBigEndian(start.lastRound)
            appendVMState(vcpu: start.vcpuState, workload: start.workloadState, frames: start.queuedFrames, to: &buffer)
            buffer.appendBigEndian(start.pageCount)
            appendRanges(start.missing, to: &buffer)
        case let .pageRequest(pages):
            buffer.appendBigEndian(UInt32(pages.count))
            for page in pages { buffer.appendBigEndian(page) }
        case let .postcopyRecovered(missing):
            appendRanges(missing, to: &buffer)
        case let .postcopyEnd(pages, digest):
            buffer.appendBigEndian(pages)
            buffer.appendBigEndian(digest)
        case let .laneHello(hello):
            buffer.appendBigEndian(hello.id.high)
            buffer.appendBigEndian(hello.id.low)
            buffer.appendBigEndian(hello.lane)
            buffer.append(contentsOf: hello.mac)
        }
        buffer.storeBigEndian(UInt32(buffer.count - payloadStart), at: lengthOffset)
    }

    /// The VM's state as `switchover` and `postcopyStart` carry it: vCPU and workload blobs, queued frames.
    static func appendVMState(vcpu: [UInt8], workload: [UInt8], frames: [[UInt8]], to buffer: inout [UInt8]) {
        buffer.appendBigEndian(UInt32(vcpu.count))
        buffer.append(contentsOf: vcpu)
        buffer.appendBigEndian(UInt32(workload.count))
        buffer.append(contentsOf: workload)
        buffer.appendBigEndian(UInt32(frames.count))
        for frame in frames {
            buffer.appendBigEndian(UInt32(frame.count))
            buffer.append(contentsOf: frame)
        }
    }

    /// Page ranges: `count u32`, then `first u64, pages u64` each.
    static func appendRanges(_ ranges: [Range<UInt64>], to buffer: inout [UInt8]) {
        buffer.appendBigEndian(UInt32(ranges.count))
        for range in ranges {
            buffer.appendBigEndian(range.lowerBound)
            buffer.appendBigEndian(UInt64(range.count))
        }
    }

    /// Appends a header with a zero length; returns the offset of the length field to patch.
    static func appendHeader(_ type: MigrationMessageType, to buffer: inout [UInt8]) -> Int {
        buffer.appendBigEndian(MigrationWire.magic)
        buffer.append(MigrationWire.version)
        buffer.append(type.rawValue)
        buffer.appendBigEndian(UInt16(0))
        buffer.appendBigEndian(UInt32(0))
        return buffer.count - 4
    }

    static func appendString(_ text: String, to buffer: inout [UInt8]) {
        var utf8 = Array(text.utf8)
        if utf8.count > MigrationWire.maxStringLength {
            var cut = ""
            for character in text {
                if cut.utf8.count + character.utf8.count > MigrationWire.maxStringLength { break }
                cut.append(character)
            }
            utf8 = Array(cut.utf8)
        }
        buffer.appendBigEndian(UInt16(utf8.count))
        buffer.append(contentsOf: utf8)
    }
}

/// Builds one page-batch message in place in an output buffer, copying each page straight from guest
/// memory (no allocation per page once the buffer has capacity).
///
/// `begin`, then `appendZero`/`appendPage` any number of times, then `finish` patches count and length.
public struct PageBatchWriter: Sendable {
    private var lengthOffset = 0
    private var countOffset = 0
    /// Records written to the open batch.
    public private(set) var count = 0
    /// True between `begin` and `finish`.
    public private(set) var isOpen = false

    public init() {}

    /// Starts a batch for `round` at the end of `buffer`.
    public mutating func begin(round: UInt32, in buffer: inout [UInt8]) {
        precondition(!isOpen, "finish the open page batch first")
        lengthOffset = MigrationEncoder.appendHeader(.pageBatch, to: &buffer)
        buffer.appendBigEndian(round)
        countOffset = buffer.count
        buffer.appendBigEndian(UInt32(0))
        count = 0
        isOpen = true
    }

    /// Appends a zero-page record (9 bytes).
    public mutating func appendZero(page: Int, in buffer: inout [UInt8]) {
        buffer.appendBigEndian(UInt64(page))
        buffer.append(PageRecordKind.zero)
        count += 1
    }

    /// Appends one record for pages that are all zero: a zero-range record (17 bytes), or a zero-page
    /// record for a single page.
    public mutating func appendZero(pages: Range<Int>, in buffer: inout [UInt8]) {
        precondition(!pages.isEmpty, "an empty zero range")
        guard pages.count > 1 else { return appendZero(page: pages.lowerBound, in: &buffer) }
        buffer.appendBigEndian(UInt64(pages.lowerBound))
        buffer.append(PageRecordKind.zeroRange)
        buffer.appendBigEndian(UInt64(pages.count))
        count += 1
    }

    /// Appends a normal record, copying 4096 bytes from `contents`; returns the hash of the bytes as
    /// copied (what the peer will receive, even if the guest writes the page meanwhile).
    @discardableResult
    public mutating func appendPage(page: Int, contents: UnsafeRawPointer, in buffer: inout [UInt8]) -> UInt64 {
        buffer.appendBigEndian(UInt64(page))
        buffer.append(PageRecordKind.normal)
        let start = buffer.count
        // A typed buffer appends with one memcpy (no zero fill first, no per-byte loop).
        buffer.append(contentsOf: UnsafeBufferPointer(start: contents.assumingMemoryBound(to: UInt8.self),
                                                      count: MigrationWire.pageSize))
        count += 1
        // Hash the copy (still in cache), not the guest page the workload may be writing.
        return buffer.withUnsafeBytes { bytes in PageHash.hash(bytes.baseAddress! + start) }
    }

    /// Patches the record count and payload length of the open batch.
    public mutating func finish(in buffer: inout [UInt8]) {
        precondition(isOpen, "no open page batch")
        buffer.storeBigEndian(UInt32(count), at: countOffset)
        buffer.storeBigEndian(UInt32(buffer.count - lengthOffset - 4), at: lengthOffset)
        isOpen = false
    }
}
