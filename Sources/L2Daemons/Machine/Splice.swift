import L2Edge
#if canImport(Glibc)
import Glibc
#endif

/// Copies bytes both ways between two connected stream sockets, as a TCP proxy does: what one side
/// sends reaches the other unchanged; when one side stops sending (end of file) the other side's
/// sending half is shut down and the other direction goes on, so a request/reply exchange and a
/// stream both end as they would on a direct connection. A failed read or write ends both ways.
enum Splice {
    /// Copies until both directions have ended or one failed; the caller then closes both.
    static func run(_ first: OwnedDescriptor, _ second: OwnedDescriptor) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        let ends = [first, second]
        var sending = [true, true]  // whether ends[i] may still send to ends[1 - i]
        var entries = [pollfd](repeating: pollfd(fd: -1, events: Int16(POLLIN), revents: 0), count: 2)
        while sending[0] || sending[1] {
            for side in 0..<2 {
                entries[side].fd = sending[side] ? ends[side].rawValue : -1  // poll skips a negative descriptor
                entries[side].revents = 0
            }
            let ready = poll(&entries, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            for side in 0..<2 where sending[side] && entries[side].revents != 0 {
                let count: Int
                do {
                    guard let read = try ends[side].read(into: buffer) else { continue }
                    count = read
                } catch {
                    return
                }
                guard count > 0 else {
                    sending[side] = false
                    shutdown(ends[1 - side].rawValue, Int32(SHUT_WR))
                    continue
                }
                do { try ends[1 - side].writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) } catch { return }
            }
        }
    }
}
