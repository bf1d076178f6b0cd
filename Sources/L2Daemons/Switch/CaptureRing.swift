import Foundation
import L2Control
import L2Capture
import L2Edge
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The segment capture written off the forwarding path: the forwarding thread appends each frame as
/// a record of the capture's format (an `Encoder`: pcap today) to a fixed set of large blocks; a
/// writer thread hands each full block to the sink (the capture file) with one `write(2)`. Records
/// run across block boundaries, so every full block is exactly `blockBytes` long and lands
/// page-aligned in the file (no partial pages for the filesystem to zero, no stdio).
///
/// The ring knows frames and their metadata (`CaptureRecord`: interface, time, lengths, direction,
/// packet id, egress ports, notes); the encoder alone knows the format. With egress records on, each
/// inbound record is followed by an outbound copy (its first `egressSnaplen` bytes) for every port
/// the switch sent it to, with the same packet id. Frame numbers count every record in the file, as
/// Wireshark numbers them. The forwarding thread can read a
/// frame straight into the ring (`withFrameSlot`): the slot starts after room for the encoder's
/// record header, the port's `read` lands the frame where its captured bytes go, and the encoder then
/// fills the header (and any trailer) in around it, so capturing costs no copy on the forwarding
/// path. Each block has `slotSlack` bytes beyond `blockBytes` for a record that starts near the end;
/// what spills past `blockBytes` moves to the start of the next block when the record is committed.
///
/// Bounded: `blockCount × (blockBytes + slotSlack)` bytes. When every block is waiting for the disk, the
/// forwarding thread waits for one (back-pressure), so every frame is still captured exactly once.
/// `flush()` returns once everything appended before it is in the file. Used when the capture has
/// no BPF filter (a filtered capture keeps libpcap's writer).
final class CaptureRing<Encoder: CaptureEncoder>: @unchecked Sendable {
    let encoder: Encoder
    private let blockBytes: Int
    private let blocks: [UnsafeMutableRawPointer]
    private let sink: any CaptureSink
    private let writerDone = DispatchSemaphore(value: 0)

    /// What the appending side owns: the block being filled. Taken once per frame
    /// by the forwarding thread; a `Mutex` (one atomic instruction when free, no call into a library,
    /// no dynamic exclusivity check) because the forwarding path pays for every cache line and library
    /// page it touches after waking.
    private struct Producer {
        var current = 0
        var fill = 0
        /// `sealed` as `sealIfIdle` last saw it.
        var sealedAtLastCheck: UInt64 = 0
        var closed = false
    }
    private let producer = Mutex(Producer())
    /// The hand-off between the appending side and the writer thread; only sealing a block, the
    /// writer and `flush` take it. Lock order: `producer`, then `condition`.
    private let condition = NSCondition()
    /// Frames appended so far: written only with `producer` held, read by anyone without a lock.
    private let frameCount = Atomic<UInt64>(0)
    /// Blocks handed to the writer so far, and blocks it has written: both changed with `condition`
    /// held, read by anyone without a lock. The difference is what the writer still has to do.
    private let sealed = Atomic<UInt64>(0)
    private let completed = Atomic<UInt64>(0)

    // All below guarded by `condition`.
    private var freeBlocks: [Int]
    private var queue: [(block: Int, length: Int)]
    private var queueHead = 0
    private var queueCount = 0
    private var writerStops = false
    private var writeError: Int32 = 0

    /// The largest frame a slot takes (a 64 KiB super-frame and its headers fit with room to spare).
    static var maximumFrameBytes: Int { 192 * 1024 }
    /// The most headroom a slot gives before the frame (a virtio-net header fits).
    static var maximumHeadroom: Int { 16 }

    /// Room beyond each block for a record whose frame was read in place near the block's end.
    let slotSlack: Int
    /// The bytes each outbound copy keeps; 0: no egress records.
    let egressSnaplen: Int
    /// The most bytes an outbound copy keeps.
    static var maximumEgressSnaplen: Int { 128 }
    /// Live readers, offered every record as it is written (`l2motion capture`).
    let live = LiveCaptureReaders()
    /// The encoder records directions, so inbound records get their packet id (asked once, not per record).
    private let numbersPackets: Bool

    /// Writes `encoder`'s file header, then records, to `sink`. `egressSnaplen` > 0 (at most 128)
    /// turns egress records on; the encoder must record directions.
    init(sink: any CaptureSink, encoder: Encoder, egressSnaplen: Int = 0, blockBytes: Int = 4 << 20, blockCount: Int = 8) throws {
        do {
            try Self.validate(snaplen: encoder.snaplen)
            guard egressSnaplen == 0 || encoder.recordsDirection else {
                throw ConfigurationError("egress records need a format that records directions; use pcapng")
            }
        } catch {
            sink.close()
            throw error
        }
        precondition(encoder.recordHeaderLength >= Self.maximumHeadroom, "the record header must cover a slot's headroom")
        precondition((0...Self.maximumEgressSnaplen).contains(egressSnaplen), "egress copies keep at most 128 bytes")
        self.egressSnaplen = egressSnaplen
        self.encoder = encoder
        numbersPackets = encoder.recordsDirection
        self.blockBytes = blockBytes
        self.sink = sink
        slotSlack = encoder.recordHeaderLength + Self.maximumFrameBytes + encoder.maximumTrailerLength
        blocks = (0..<blockCount).map { [slotSlack] _ in
            UnsafeMutableRawPointer.allocate(byteCount: blockBytes + slotSlack, alignment: 4096)
        }
        freeBlocks = Array((1..<blockCount).reversed())
        freeBlocks.reserveCapacity(blockCount)
        queue = Array(repeating: (0, 0), count: blockCount)
        producer.withLock { state in encoder.fileHeader().withUnsafeBytes { append($0, to: &state) } }
        NamedThread.start("capture") { [self] in writeLoop() }
    }

    static func validate(snaplen: Int) throws(ConfigurationError) {
        guard (64...262_144).contains(snaplen) else {
            throw ConfigurationError("snaplen \(snaplen) out of range; use 64...262144 (65535 keeps whole frames)")
        }
    }

    deinit {
        close()
        for block in blocks { block.deallocate() }
    }

    /// Frames appended so far (the number of the last one).
    var framesWritten: UInt64 { frameCount.load(ordering: .relaxed) }

    /// Whether the writer thread has a sealed block to write or is writing one: the capture is what
    /// sets the pace, and a forwarding thread that polled instead of sleeping would take its CPU.
    @inline(__always)
    var writerIsBusy: Bool { completed.load(ordering: .relaxed) != sealed.load(ordering: .relaxed) }

    /// Appends a copy of one frame that came in on port index `interface`, stamped with
    /// `wallNanoseconds`; returns its frame number in the file (1-based), or 0 once closed.
    @discardableResult
    func write(_ frame: UnsafeRawBufferPointer, wallNanoseconds: UInt64, interface: Int = 0) -> UInt64 {
        write(frame, CaptureRecord(wallNanoseconds: wallNanoseconds, originalLength: frame.count, interface: interface))
    }

    /// Appends a copy of one frame with `record`'s metadata (its lengths are taken from `frame`);
    /// returns its frame number in the file (1-based), or 0 once closed.
    @discardableResult
    func write(_ frame: UnsafeRawBufferPointer, _ record: CaptureRecord) -> UInt64 {
        let kept = min(frame.count, encoder.snaplen)
        var number: UInt64 = 0
        _ = withFrameSlot(headroom: 0, capacity: kept) { slot, frameNumber in
            slot.copyMemory(from: UnsafeRawBufferPointer(rebasing: frame[0..<kept]))
            number = frameNumber
            var record = record
            record.originalLength = frame.count
            return record
        }
        return number
    }

    /// Lends `body` room for one frame inside the ring: `slot` has `headroom` bytes (at most
    /// `maximumHeadroom`, e.g. a virtio-net header) before where the frame must start and room for
    /// `capacity` bytes in all. `body` reads into it and returns the frame's record (length, time,
    /// ports; the ring sets the captured length), or nil if nothing was read. The frame is then
    /// captured in place, numbered `frameNumber`; until `body` returns, the slot is the caller's
    /// (forward from it). Returns nil, calling nothing, once closed.
    @inline(__always)
    func withFrameSlot(headroom: Int, capacity: Int,
                       _ body: (_ slot: UnsafeMutableRawBufferPointer, _ frameNumber: UInt64) -> CaptureRecord?) -> CaptureRecord??
    {
        precondition(headroom <= Self.maximumHeadroom && capacity - headroom <= Self.maximumFrameBytes, "slot larger than the ring's slack")
        return producer.withLock { state -> CaptureRecord?? in
            guard !state.closed else { return nil }
            let recordStart = blocks[state.current] + state.fill
            let headerLength = encoder.recordHeaderLength
            let slot = UnsafeMutableRawBufferPointer(start: recordStart + headerLength - headroom, count: capacity)
            let number = frameCount.load(ordering: .relaxed) + 1
            guard var record = body(slot, number) else { return .some(nil) }
            guard record.captured else { return .some(record) }
            record.capturedLength = min(record.originalLength, encoder.snaplen)
            if numbersPackets && record.packetID == 0 { record.packetID = number }
            let data = recordStart + headerLength
            let trailer = encoder.encode(record, header: recordStart, trailer: data + record.capturedLength)
            if live.isActive {
                live.offer(record: UnsafeRawBufferPointer(start: recordStart, count: headerLength + record.capturedLength + trailer),
                           interface: record.interface)
            }
            state.fill += headerLength + record.capturedLength + trailer
            frameCount.store(number, ordering: .relaxed)
            if state.fill >= blockBytes { sealFullBlock(&state) }
            if egressSnaplen > 0 && record.egressPorts != 0 { appendEgressCopies(of: record, from: data, to: &state) }
            return .some(record)
        }
    }

    /// Writes an outbound copy of the record just written (whose captured bytes start at `data`) on
    /// each port in its `egressPorts`: the first `egressSnaplen` bytes, the same packet id.
    @inline(never)
    private func appendEgressCopies(of inbound: CaptureRecord, from data: UnsafeMutableRawPointer, to state: inout Producer) {
        let kept = min(inbound.capturedLength, egressSnaplen)
        withUnsafeTemporaryAllocation(byteCount: Self.maximumEgressSnaplen, alignment: 8) { head in
            // The inbound record may move to another block when a copy fills this one: keep its head.
            head.baseAddress!.copyMemory(from: data, byteCount: kept)
            var ports = inbound.egressPorts
            while ports != 0 {
                let port = ports.trailingZeroBitCount
                ports &= ports - 1
                let number = frameCount.load(ordering: .relaxed) + 1
                let recordStart = blocks[state.current] + state.fill
                let headerLength = encoder.recordHeaderLength
                (recordStart + headerLength).copyMemory(from: head.baseAddress!, byteCount: kept)
                let copy = CaptureRecord(wallNanoseconds: inbound.wallNanoseconds, originalLength: inbound.originalLength,
                                         capturedLength: kept, interface: port, direction: .outbound, packetID: inbound.packetID)
                let trailer = encoder.encode(copy, header: recordStart, trailer: recordStart + headerLength + kept)
                if live.isActive { live.offer(record: UnsafeRawBufferPointer(start: recordStart, count: headerLength + kept + trailer), interface: port) }
                state.fill += headerLength + kept + trailer
                frameCount.store(number, ordering: .relaxed)
                if state.fill >= blockBytes { sealFullBlock(&state) }
            }
        }
    }

    /// Called about once a second: hands a partly filled block to the writer if no block filled up
    /// since the last call (a quiet segment still reaches the file within a second or two).
    func sealIfIdle() {
        producer.withLock { state in
            if !state.closed, state.fill > 0, sealed.load(ordering: .relaxed) == state.sealedAtLastCheck { seal(&state, length: state.fill) }
            state.sealedAtLastCheck = sealed.load(ordering: .relaxed)
        }
    }

    /// The last error the writer thread met (errno), 0 if none.
    var lastWriteError: Int32 {
        condition.lock()
        defer { condition.unlock() }
        return writeError
    }

    /// Returns once every frame appended so far is in the file.
    func flush() {
        let target: UInt64? = producer.withLock { state in
            guard !state.closed else { return nil }
            if state.fill > 0 { seal(&state, length: state.fill) }
            return sealed.load(ordering: .relaxed)
        }
        guard let target else { return }
        condition.lock()
        while completed.load(ordering: .relaxed) < target { condition.wait() }
        condition.unlock()
    }

    /// Writes what is left, then the encoder's closing bytes for `statistics` (pcapng: a statistics
    /// block per port), and closes the file; later writes are ignored.
    func close(statistics: [CaptureStatistics] = [], wallNanoseconds: UInt64 = 0) {
        let first = producer.withLock { state in
            guard !state.closed else { return false }
            let closing = statistics.isEmpty ? [] : encoder.closingBytes(statistics: statistics, wallNanoseconds: wallNanoseconds)
            closing.withUnsafeBytes { append($0, to: &state) }
            live.close(closingBytes: closing)
            if state.fill > 0 { seal(&state, length: state.fill) }
            state.closed = true
            return true
        }
        guard first else { return }
        condition.lock()
        writerStops = true
        condition.broadcast()
        condition.unlock()
        writerDone.wait()
        sink.close()
    }

    // MARK: internals (called with `producer` held)

    private func append(_ bytes: UnsafeRawBufferPointer, to state: inout Producer) {
        var offset = 0
        while offset < bytes.count {
            let room = blockBytes - state.fill
            let count = min(room, bytes.count - offset)
            (blocks[state.current] + state.fill).copyMemory(from: bytes.baseAddress! + offset, byteCount: count)
            state.fill += count
            offset += count
            if state.fill == blockBytes { seal(&state, length: blockBytes) }
        }
    }

    /// Seals a block a frame read in place ran past the end of: the writer writes only its first
    /// `blockBytes`, and the block is not reused before it is written, so what spilled into its slack
    /// moves to the start of the next block.
    @inline(never)
    private func sealFullBlock(_ state: inout Producer) {
        // A spill can outgrow a small block (the slack holds a whole record): seal until it fits.
        while state.fill >= blockBytes {
            let full = state.current
            let spill = state.fill - blockBytes
            seal(&state, length: blockBytes)
            blocks[state.current].copyMemory(from: blocks[full] + blockBytes, byteCount: spill)
            state.fill = spill
        }
    }

    /// Queues the current block for the writer and takes a free one, waiting for the disk if none is.
    @inline(never)
    private func seal(_ state: inout Producer, length: Int) {
        condition.lock()
        queue[(queueHead + queueCount) % queue.count] = (state.current, length)
        queueCount += 1
        sealed.add(1, ordering: .relaxed)
        condition.broadcast()
        while freeBlocks.isEmpty { condition.wait() }
        state.current = freeBlocks.removeLast()
        condition.unlock()
        state.fill = 0
    }

    private func writeLoop() {
        condition.lock()
        while true {
            while queueCount == 0 && !writerStops { condition.wait() }
            if queueCount == 0 && writerStops { break }
            let (block, length) = queue[queueHead]
            queueHead = (queueHead + 1) % queue.count
            queueCount -= 1
            condition.unlock()
            let failure = sink.write(UnsafeRawBufferPointer(start: blocks[block], count: length))
            condition.lock()
            if failure != 0 { writeError = failure }
            freeBlocks.append(block)
            completed.add(1, ordering: .relaxed)
            condition.broadcast()
        }
        condition.unlock()
        writerDone.signal()
    }
}

extension CaptureRing where Encoder == PcapEncoder {
    /// A pcap capture file at `path` (created or truncated).
    convenience init(path: String, snaplen: Int, blockBytes: Int = 4 << 20, blockCount: Int = 8) throws {
        try Self.validate(snaplen: snaplen)
        try self.init(sink: FileCaptureSink(path: path), encoder: PcapEncoder(snaplen: snaplen), blockBytes: blockBytes, blockCount: blockCount)
    }
}
