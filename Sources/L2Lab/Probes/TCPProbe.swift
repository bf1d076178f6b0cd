import Foundation
import L2Edge
import L2Guest

/// The TCP continuity probe, run in a client namespace (`l2motion tcp-probe`): one long-lived
/// connection to the VM's echo service doing request/response every `intervalMs`, and one bulk
/// download of `GET /bytes/N` checked byte for byte against `PatternStream`. It prints one line per
/// event (`TCPProbeReport.parse` reads them) so a migration's effect shows as it happens.
public struct TCPProbe: Sendable {
    public var address: String
    public var echoPort: UInt16 = 7
    public var httpPort: UInt16 = 80
    /// Milliseconds between echo requests; 0 disables the echo connection.
    public var intervalMs: Double = 20
    /// Bytes to download; 0 disables the download.
    public var downloadBytes: UInt64 = 0
    /// The download's pace in MiB/s (the client reads no faster; TCP's flow control slows the VM);
    /// 0 reads as fast as it can.
    public var downloadMiBPerSecond: Double = 0
    /// Stop the echo connection after this many requests (nil: until `shouldStop` says so).
    public var echoCount: Int?

    public init(address: String) { self.address = address }

    /// Runs both connections until they finish or `shouldStop` returns true; `emit` gets each line.
    public func run(shouldStop: @escaping @Sendable () -> Bool, emit: @escaping @Sendable (String) -> Void) {
        var threads: [ThreadEnd] = []
        if intervalMs > 0 { threads.append(NamedThread.start("tcp-probe-echo") { echo(shouldStop: shouldStop, emit: emit) }) }
        if downloadBytes > 0 { threads.append(NamedThread.start("tcp-probe-get") { download(shouldStop: shouldStop, emit: emit) }) }
        for thread in threads { while !thread.wait(seconds: 1) {} }
    }

    static func now() -> UInt64 { SystemClock.wallNanoseconds() }

    static func failure(_ error: Error) -> String {
        if let error = error as? SystemError, error.errno == ECONNRESET { return "reset" }
        return "error"
    }

    /// Request `seq` is 32 bytes: the sequence number (big-endian) and 24 bytes derived from it.
    static func echoRequest(_ sequence: UInt64) -> [UInt8] {
        withUnsafeBytes(of: sequence.bigEndian) { Array($0) } + PatternStream.bytes(from: sequence &* 24, count: 24)
    }

    func echo(shouldStop: @Sendable () -> Bool, emit: @Sendable (String) -> Void) {
        var sent = 0, received = 0, mismatched = 0
        defer { emit("echo done sent=\(sent) received=\(received) mismatched=\(mismatched)") }
        let connection: ClientConnection
        do {
            connection = try ClientConnection(address: address, port: echoPort)
        } catch {
            emit("echo \(Self.failure(error)) at_ns=\(Self.now()) message=\(String(describing: error).replacingOccurrences(of: " ", with: "_"))")
            return
        }
        defer { connection.close() }
        emit("echo connected at_ns=\(Self.now())")
        let step = UInt64(intervalMs * 1e6)
        var next = SystemClock.monotonicNanoseconds()
        var buffer = [UInt8](repeating: 0, count: 64)
        while !shouldStop(), echoCount.map({ sent < $0 }) ?? true {
            let sequence = UInt64(sent + 1)
            let request = Self.echoRequest(sequence)
            let started = SystemClock.monotonicNanoseconds()
            do {
                try connection.send(request)
                sent += 1
                var reply: [UInt8] = []
                while reply.count < request.count {
                    let count = try buffer.withUnsafeMutableBytes { try connection.receive(into: $0, timeoutMilliseconds: 100) }
                    if let count {
                        guard count > 0 else {
                            emit("echo closed at_ns=\(Self.now())")
                            return
                        }
                        reply += buffer[0..<count]
                    } else if shouldStop() {
                        return
                    }
                }
                received += 1
                let intact = reply.prefix(request.count).elementsEqual(request)
                if !intact { mismatched += 1 }
                let rtt = (SystemClock.monotonicNanoseconds() - started) / 1_000
                emit("echo seq=\(sequence) rtt_us=\(rtt) at_ns=\(Self.now())\(intact ? "" : " mismatch=1")")
            } catch {
                emit("echo \(Self.failure(error)) at_ns=\(Self.now()) message=\(String(describing: error).replacingOccurrences(of: " ", with: "_"))")
                return
            }
            next += step
            let wait = Int64(next) - Int64(SystemClock.monotonicNanoseconds())
            if wait > 0 { SystemClock.sleep(nanoseconds: UInt64(wait)) }
        }
    }

    func download(shouldStop: @Sendable () -> Bool, emit: @Sendable (String) -> Void) {
        var received: UInt64 = 0
        var mismatchAt: Int64 = -1
        var longestGap: UInt64 = 0
        var gapEnd: UInt64 = 0
        let startedAt = SystemClock.monotonicNanoseconds()
        var outcome = "incomplete"
        defer {
            let seconds = Double(SystemClock.monotonicNanoseconds() - startedAt) / 1e9
            emit("download done outcome=\(outcome) bytes=\(received) expected=\(downloadBytes) mismatch_at=\(mismatchAt) longest_gap_us=\(longestGap / 1_000) gap_end_ns=\(gapEnd) mbit_s=\(String(format: "%.1f", Double(received) * 8 / 1e6 / max(seconds, 1e-9)))")
        }
        let connection: ClientConnection
        do {
            connection = try ClientConnection(address: address, port: httpPort, receiveBuffer: downloadMiBPerSecond > 0 ? 262_144 : nil)
            let host = address.contains(":") ? "[\(address.split(separator: "%")[0])]" : address
            try connection.send(Array("GET /bytes/\(downloadBytes) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: l2motion-tcp-probe\r\nConnection: close\r\n\r\n".utf8))
        } catch {
            outcome = Self.failure(error)
            emit("download \(outcome) at_ns=\(Self.now())")
            return
        }
        defer { connection.close() }
        emit("download connected at_ns=\(Self.now())")
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var head: [UInt8] = []
        var bodyStarted = false
        var lastArrival = SystemClock.monotonicNanoseconds()
        let pace = downloadMiBPerSecond * 1_048_576 / 1e9
        while !shouldStop(), received < downloadBytes {
            var room = buffer.count
            if pace > 0 && bodyStarted {
                let allowed = Double(SystemClock.monotonicNanoseconds() - startedAt) * pace - Double(received)
                if allowed < 1 {
                    SystemClock.sleep(nanoseconds: 1_000_000)
                    continue
                }
                room = min(room, Int(allowed))
            }
            let count: Int?
            do {
                count = try buffer.withUnsafeMutableBytes { try connection.receive(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<room]), timeoutMilliseconds: 100) }
            } catch {
                outcome = Self.failure(error)
                emit("download \(outcome) bytes=\(received) at_ns=\(Self.now())")
                return
            }
            guard let count else { continue }
            guard count > 0 else {
                outcome = "closed"
                return
            }
            let now = SystemClock.monotonicNanoseconds()
            if bodyStarted, now - lastArrival > longestGap {
                longestGap = now - lastArrival
                gapEnd = Self.now()
            }
            lastArrival = now
            var chunk = buffer[0..<count]
            if !bodyStarted {
                head += chunk
                guard let end = Self.headEnd(head) else { continue }
                let status = String(decoding: head.prefix(while: { $0 != 13 }), as: UTF8.self)
                emit("download header status=\(status.split(separator: " ").dropFirst().first ?? "?") at_ns=\(Self.now())")
                guard status.contains(" 200 ") else {
                    outcome = "refused"
                    return
                }
                chunk = head[end...]
                head = []
                bodyStarted = true
            }
            if mismatchAt < 0, !chunk.isEmpty {
                let expected = PatternStream.bytes(from: received, count: chunk.count)
                if let index = (0..<chunk.count).first(where: { chunk[chunk.startIndex + $0] != expected[$0] }) {
                    mismatchAt = Int64(received) + Int64(index)
                }
            }
            received += UInt64(chunk.count)
        }
        if received >= downloadBytes {
            outcome = received == downloadBytes ? "complete" : "overrun"
        } else if shouldStop() {
            outcome = "stopped"
        }
    }

    /// The index just past the `\r\n\r\n` ending an HTTP response head, or nil.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count where bytes[index - 3] == 13 && bytes[index - 2] == 10 && bytes[index - 1] == 13 && bytes[index] == 10 {
            return index + 1
        }
        return nil
    }
}
