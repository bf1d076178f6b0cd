import Foundation
import L2Capture
import L2Edge
import Testing
@testable import L2Daemons

/// The switch's capture ring, without root: frames appended by copy and read in place, across block
/// boundaries, with back-pressure from a ring of three small blocks; libpcap reads the file back.
@Suite("Capture ring")
struct CaptureRingTests {
    /// A new folder of this test process's own under the temporary directory.
    static func scratchDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("l2m-ring-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test("copied and in-place frames come back in order, numbered, truncated at the snaplen, across block boundaries")
    func inPlaceAndCopiedFrames() throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ring.pcap").path
        let ring = try CaptureRing(path: path, snaplen: 1000, blockBytes: 4096, blockCount: 3)
        var expected: [(length: Int, time: UInt64, fill: UInt8)] = []
        for index in 0..<400 {
            let length = [60, 1514, 999, 1000, 1001, 9014, 17][index % 7] + index % 5
            let fill = UInt8(truncatingIfNeeded: index)
            let time = 1_700_000_000_000_000_000 + UInt64(index) * 1_234_567
            if index % 3 == 0 {
                let frame = [UInt8](repeating: fill, count: length)
                let number = frame.withUnsafeBytes { ring.write($0, wallNanoseconds: time) }
                #expect(number == UInt64(index + 1))
            } else {
                let outcome = ring.withFrameSlot(headroom: 10, capacity: 10 + 9100) { slot, number in
                    #expect(number == UInt64(index + 1))
                    // What a TAP read with a virtio-net header leaves: 10 header bytes, then the frame.
                    for offset in 0..<10 { slot[offset] = 0xEE }
                    for offset in 10..<10 + length { slot[offset] = fill }
                    return CaptureRecord(wallNanoseconds: time, originalLength: length)
                }
                #expect(outcome??.originalLength == length)
                #expect(outcome??.capturedLength == min(length, 1000))
            }
            expected.append((length, time, fill))
        }
        // A read that found nothing captures nothing.
        let nothing = ring.withFrameSlot(headroom: 10, capacity: 1024) { _, _ in nil }
        #expect(nothing != nil && nothing! == nil)
        #expect(ring.framesWritten == 400)
        ring.close()
        #expect(ring.withFrameSlot(headroom: 0, capacity: 64) { _, _ in CaptureRecord(wallNanoseconds: 1, originalLength: 1) } == nil, "closed: nothing lent")

        let frames = try PcapReader.readAll(path: path)
        #expect(frames.count == expected.count)
        for (frame, want) in zip(frames, expected) {
            #expect(frame.originalLength == want.length)
            #expect(frame.wallNanoseconds == want.time)
            #expect(frame.bytes.count == min(want.length, 1000))
            #expect(frame.bytes.allSatisfy { $0 == want.fill }, "frame \(frame.number) holds its own bytes only")
        }
    }

    @Test("the writer counts as busy exactly while a sealed block waits for the file")
    func writerBusyWhileBlockUnwritten() throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A FIFO as the capture file: the writer's write(2) cannot finish until this test reads.
        let path = directory.appendingPathComponent("ring.fifo").path
        #expect(mkfifo(path, 0o600) == 0)
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        let ring = try CaptureRing(path: path, snaplen: 1000, blockBytes: 256 * 1024, blockCount: 3)
        // Closing writes what is left into the pipe: keep reading until the writer closes it.
        defer {
            let drained = DispatchSemaphore(value: 0)
            DispatchQueue.global().async {
                var scratch = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = scratch.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
                    if count == 0 || (count < 0 && errno != EAGAIN) { break }
                    if count < 0 { usleep(1000) }
                }
                drained.signal()
            }
            ring.close()
            drained.wait()
        }
        #expect(!ring.writerIsBusy, "the header alone is not sealed")
        let frame = [UInt8](repeating: 0xAB, count: 1000)
        // 300 records of 1016 bytes fill more than one 256 KiB block, which a pipe cannot take at once.
        for index in 0..<300 {
            _ = frame.withUnsafeBytes { ring.write($0, wallNanoseconds: UInt64(index)) }
        }
        #expect(ring.writerIsBusy, "a sealed block is stuck in the pipe")
        // Read what the writer offers until it has written everything sealed.
        var buffer = [UInt8](repeating: 0, count: 65536)
        var received = 0
        let deadline = SystemClock.monotonicNanoseconds() + 10_000_000_000
        while ring.writerIsBusy && SystemClock.monotonicNanoseconds() < deadline {
            let count = buffer.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
            if count > 0 { received += count } else { usleep(1000) }
        }
        #expect(!ring.writerIsBusy, "the block reached the file")
        // The end of the block may still sit in the pipe's buffer.
        while true {
            let count = buffer.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            received += count
        }
        #expect(received == 256 * 1024, "exactly the first block came through the pipe")
    }
}
