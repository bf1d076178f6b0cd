import L2Capture
import Synchronization

/// The live readers of a switch's capture (`l2motion capture`, the extcap interface): the capture
/// ring offers each record it writes to every reader, and each reader's own thread sends what it got
/// to its socket. A reader that falls behind loses records, counted for it alone; the forwarding
/// thread never waits for one. With no reader attached, a record costs one atomic load.
final class LiveCaptureReaders: Sendable {
    /// The attached readers, and whether the capture has ended (a reader attaching later is finished at once).
    private let readers = Mutex<(list: [LiveReader], closed: Bool)>(([], false))
    /// How many readers are attached: read without the lock on every record.
    private let attached = Atomic<Int>(0)

    /// Whether any reader is attached (one relaxed load; a reader that attaches a moment later
    /// starts with the next record).
    @inline(__always)
    var isActive: Bool { attached.load(ordering: .relaxed) > 0 }

    func attach(_ reader: LiveReader) {
        readers.withLock { state in
            guard !state.closed else { return reader.finish() }
            state.list.append(reader)
            attached.store(state.list.count, ordering: .relaxed)
        }
    }

    func detach(_ reader: LiveReader) {
        readers.withLock { state in
            state.list.removeAll { $0 === reader }
            attached.store(state.list.count, ordering: .relaxed)
        }
    }

    /// Offers one encoded record, filed under port index `interface`, to every reader that wants that
    /// port. Called by the capture ring with its lock held, so records reach each reader in file order.
    func offer(record: UnsafeRawBufferPointer, interface: Int) {
        readers.withLock { state in
            for reader in state.list where reader.port == nil || reader.port == interface { reader.offer(record) }
        }
    }

    /// Offers the capture's closing blocks (statistics) to every reader, then tells them the capture ended.
    func close(closingBytes: [UInt8]) {
        readers.withLock { state in
            state.closed = true
            for reader in state.list {
                if !closingBytes.isEmpty { closingBytes.withUnsafeBytes { reader.offer($0, whole: true) } }
                reader.finish()
            }
        }
    }
}

/// One live reader: a bounded single-producer, single-consumer byte ring of whole pcapng records.
/// The capture ring's thread offers records (a record that does not fit is dropped and counted);
/// the reader's own thread takes bytes out and sends them. After a drop, the next record that fits
/// carries the number lost before it in an `epb_dropcount` option (tshark's `frame.drop_count`).
final class LiveReader: @unchecked Sendable {
    /// The port index this reader wants, nil for all.
    let port: Int?
    private let capacity: Int
    private let storage: UnsafeMutableRawPointer
    /// Bytes ever written and ever taken: the ring holds `written - taken` bytes.
    private let written = Atomic<Int>(0)
    private let taken = Atomic<Int>(0)
    /// Records dropped for this reader so far, and how many of them a delivered record has reported.
    private let droppedCount = Atomic<UInt64>(0)
    private var droppedReported: UInt64 = 0  // producer only
    private let finished = Atomic<Bool>(false)

    init(port: Int?, capacity: Int = 8 << 20) {
        self.port = port
        self.capacity = capacity
        storage = .allocate(byteCount: capacity, alignment: 64)
    }

    deinit { storage.deallocate() }

    /// Records this reader lost because it was behind.
    var dropped: UInt64 { droppedCount.load(ordering: .relaxed) }

    /// Whether the capture has ended (the switch is stopping): take what is left, then stop.
    var isFinished: Bool { finished.load(ordering: .acquiring) }

    func finish() { finished.store(true, ordering: .releasing) }

    /// Producer side: copies `record` in if it fits, else counts it lost. `whole`: bytes that are not
    /// one packet block (statistics), passed on as they are.
    func offer(_ record: UnsafeRawBufferPointer, whole: Bool = false) {
        let lost = droppedCount.load(ordering: .relaxed) - droppedReported
        let extra = lost > 0 && !whole ? Self.dropCountOptionLength : 0
        let length = record.count + extra
        let tail = written.load(ordering: .relaxed)
        guard capacity - (tail - taken.load(ordering: .acquiring)) >= length else {
            droppedCount.add(1, ordering: .relaxed)
            return
        }
        if extra == 0 {
            copyIn(record, at: tail)
        } else {
            withUnsafeTemporaryAllocation(byteCount: length, alignment: 8) { buffer in
                Self.insertDropCount(lost, into: record, writing: buffer)
                copyIn(UnsafeRawBufferPointer(buffer), at: tail)
            }
            droppedReported += lost
        }
        written.store(tail + length, ordering: .releasing)
    }

    /// Consumer side: moves up to `buffer.count` bytes out; returns how many (0: nothing waiting).
    func take(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let head = taken.load(ordering: .relaxed)
        let count = min(written.load(ordering: .acquiring) - head, buffer.count)
        guard count > 0 else { return 0 }
        let start = head % capacity
        let first = min(count, capacity - start)
        buffer.baseAddress!.copyMemory(from: storage + start, byteCount: first)
        if first < count { (buffer.baseAddress! + first).copyMemory(from: storage, byteCount: count - first) }
        taken.store(head + count, ordering: .releasing)
        return count
    }

    private func copyIn(_ bytes: UnsafeRawBufferPointer, at tail: Int) {
        let start = tail % capacity
        let first = min(bytes.count, capacity - start)
        (storage + start).copyMemory(from: bytes.baseAddress!, byteCount: first)
        if first < bytes.count { storage.copyMemory(from: bytes.baseAddress! + first, byteCount: bytes.count - first) }
    }

    /// `epb_dropcount`: code, length, a 64-bit count.
    static let dropCountOptionLength = 12

    /// Writes `record` (an enhanced packet block ending in `opt_endofopt` and its trailing length)
    /// to `out` with an `epb_dropcount` option of `lost` inserted before the end of its options.
    static func insertDropCount(_ lost: UInt64, into record: UnsafeRawBufferPointer, writing out: UnsafeMutableRawBufferPointer) {
        let keep = record.count - 8  // up to opt_endofopt
        let total = UInt32(record.count + dropCountOptionLength)
        out.baseAddress!.copyMemory(from: record.baseAddress!, byteCount: keep)
        out.storeBytes(of: total, toByteOffset: 4, as: UInt32.self)
        out.storeBytes(of: PcapngBlocks.Option.epbDropCount, toByteOffset: keep, as: UInt16.self)
        out.storeBytes(of: UInt16(8), toByteOffset: keep + 2, as: UInt16.self)
        out.storeBytes(of: lost, toByteOffset: keep + 4, as: UInt64.self)
        out.storeBytes(of: UInt32(0), toByteOffset: keep + 12, as: UInt32.self)  // opt_endofopt
        out.storeBytes(of: total, toByteOffset: keep + 16, as: UInt32.self)
    }
}
