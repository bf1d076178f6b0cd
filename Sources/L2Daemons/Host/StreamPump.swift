import L2Edge
import L2Migration
#if canImport(Glibc)
import Glibc
#endif

/// Moves bytes between a non-blocking TCP connection and a migration state machine: an output
/// queue written as the socket accepts it, and reads handed over as they come. One poll per turn.
struct StreamPump: MigrationPump {
    let connection: TCPSocket
    private(set) var output: [UInt8] = []
    private var offset = 0
    private var input = [UInt8](repeating: 0, count: 1 << 18)
    private(set) var closed = false

    init(connection: TCPSocket) {
        self.connection = connection
        output.reserveCapacity(2 << 20)
    }

    var hasPendingOutput: Bool { offset < output.count }
    var pendingOutputBytes: Int { output.count - offset }
    var unacknowledgedBytes: Int { connection.unacknowledgedBytes }

    /// Queues bytes to send after what is already queued.
    mutating func enqueue(_ bytes: [UInt8]) { output.append(contentsOf: bytes) }

    /// Hands the emptied output buffer to `fill` (to encode straight into it) when all was sent.
    mutating func refill(_ fill: (inout [UInt8]) -> Void) {
        if offset == output.count {
            output.removeAll(keepingCapacity: true)
            offset = 0
            fill(&output)
        }
    }

    /// Waits up to `timeoutMilliseconds` for the socket, writes what it can, and hands each read to
    /// `received` as soon as it is read, up to 16 reads of 256 KiB. The bytes are the pump's input
    /// buffer, valid only during the call: the next read reuses the buffer, without a copy as long as
    /// `received` kept no reference to it (`received` must not use the pump). Returns why the
    /// connection closed, if it did.
    mutating func turn(timeoutMilliseconds: Int32, received: (ArraySlice<UInt8>) -> Void) -> String? {
        guard var entry = pollEntry else { return nil }
        let ready = poll(&entry, 1, timeoutMilliseconds)
        guard ready > 0 else { return nil }
        return service(revents: entry.revents, received: received)
    }

    /// The connection's descriptor with the events this pump waits for; nil once closed.
    var pollEntry: pollfd? {
        guard !closed else { return nil }
        return pollfd(fd: connection.descriptor.rawValue, events: Int16(POLLIN) | (hasPendingOutput ? Int16(POLLOUT) : 0), revents: 0)
    }

    /// The I/O a poll found ready (`revents` of `pollEntry`): writes what the socket takes, then hands
    /// each read to `received`, as `turn` does after its own poll. Returns why the connection closed.
    mutating func service(revents: Int16, received: (ArraySlice<UInt8>) -> Void) -> String? {
        guard !closed else { return nil }
        if revents & Int16(POLLOUT) != 0 && hasPendingOutput {
            do {
                try writeQueued()
            } catch {
                closed = true
                return "\(error)"
            }
        }
        guard revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 else { return nil }
        for _ in 0..<16 {
            let count: Int?
            do {
                count = try input.withUnsafeMutableBytes { try connection.descriptor.read(into: $0) }
            } catch {
                closed = true
                return "\(error)"
            }
            guard let count else { break }
            if count == 0 {
                closed = true
                return "the peer closed the connection"
            }
            received(input[0..<count])
            if count < input.count { break }
        }
        return nil
    }

    /// Writes what the socket takes right now, without waiting and without reading. An error is left
    /// for the next `turn`, which meets it again and reports it.
    mutating func writeAvailable() {
        guard !closed else { return }
        try? writeQueued()
    }

    /// Writes queued bytes until the socket would block or all are out.
    private mutating func writeQueued() throws {
        while hasPendingOutput {
            let written = try output.withUnsafeBytes { raw in
                try connection.descriptor.write(UnsafeRawBufferPointer(rebasing: raw[offset...]))
            }
            guard let written, written > 0 else { return }
            offset += written
        }
    }

    /// Closes at once, dropping what is queued (the peer stopped reading).
    mutating func abort() {
        connection.close()
        closed = true
    }

    /// Tries to send what is queued for up to `milliseconds`, then closes.
    mutating func flushAndClose(milliseconds: Int) {
        let deadline = SystemClock.monotonicNanoseconds() + UInt64(milliseconds) * 1_000_000
        while hasPendingOutput && !closed && SystemClock.monotonicNanoseconds() < deadline {
            _ = turn(timeoutMilliseconds: 10) { _ in }
        }
        connection.close()
        closed = true
    }

    /// The plain pump does nothing at the driver's moments.
    @inline(__always)
    func observe(_ source: MigrationSource, at moment: SourceMoment) -> [PumpEvent] { [] }

    // MARK: - Damage, for `FaultInjectingPump`

    /// Flips one byte in the middle of what is queued (with nothing queued, queues one stray byte).
    mutating func corruptNextByte() {
        if !hasPendingOutput { output.append(contentsOf: [UInt8](repeating: 0xA5, count: 1)); return }
        let index = offset + (output.count - offset) / 2
        output[index] ^= 0xFF
    }

    /// Sends half of what is queued, then closes (a truncated message on the wire).
    mutating func truncateAndClose() {
        let half = offset + max((output.count - offset) / 2, 1)
        if half <= output.count { output.removeSubrange(half...) }
        flushAndClose(milliseconds: 500)
    }
}
