import L2Edge
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("WakeDescriptor")
struct WakeDescriptorTests {
    /// Polls one descriptor for readability; true if it became readable within `milliseconds`.
    func readable(_ wake: WakeDescriptor, within milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: wake.rawValue, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, milliseconds) == 1 && entry.revents & Int16(POLLIN) != 0
    }

    @Test("an event is readable only between signal and consume")
    func event() throws {
        let event = try WakeDescriptor.event()
        #expect(!readable(event, within: 0))
        #expect(!event.consume())
        event.signal()
        event.signal()
        #expect(readable(event, within: 0))
        // One consume clears every signal so far.
        #expect(event.consume())
        #expect(!readable(event, within: 0))
    }

    @Test("wait(orReadable:) returns true for the other descriptor, false for a stop event that stays signalled")
    func waitForEither() throws {
        let stop = try WakeDescriptor.event()
        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        var byte: UInt8 = 1
        #expect(write(ends[1], &byte, 1) == 1)
        #expect(stop.wait(orReadable: ends[0]))
        #expect(read(ends[0], &byte, 1) == 1)
        stop.signal()
        // Stop wins even when the other descriptor is readable too, and it is not consumed: every
        // thread waiting on it sees it.
        #expect(write(ends[1], &byte, 1) == 1)
        #expect(!stop.wait(orReadable: ends[0]))
        #expect(!stop.wait(orReadable: ends[0]))
        #expect(readable(stop, within: 0))
    }

    @Test("a timer of 0 ms is refused")
    func zeroPeriod() {
        #expect(throws: SystemError.self) { try WakeDescriptor.every(milliseconds: 0) }
    }

    @Test("a periodic timer becomes readable again after each consume")
    func timer() throws {
        // Long enough that nothing between two lines of this test takes a whole period.
        let timer = try WakeDescriptor.every(milliseconds: 1000)
        for _ in 0..<2 {
            #expect(readable(timer, within: 5000))
            #expect(timer.consume())
            #expect(!timer.consume())
        }
    }
}
