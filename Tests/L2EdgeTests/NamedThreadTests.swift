import Dispatch
import L2Edge
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("NamedThread")
struct NamedThreadTests {
    /// Whether `descriptor` is open in the calling thread's descriptor table.
    static func isOpen(_ descriptor: Int32) -> Bool { fcntl(descriptor, F_GETFD) >= 0 }

    @Test("a private descriptor table keeps what was open, does not see what other threads open later, and closes only its own copies")
    func privateDescriptorTable() throws {
        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0)
        let before = ends
        defer { close(before[0]); close(before[1]) }
        let unshared = DispatchSemaphore(value: 0)
        let changed = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let later = Atomic<Int32>(-1)
        // What the thread saw: private table, the earlier descriptor open, the later one open.
        let seen = Mutex<[Bool]>([])
        NamedThread.start("fdtable-test") {
            let isPrivate = NamedThread.usePrivateDescriptorTable()
            unshared.signal()
            changed.wait()
            let old = Self.isOpen(before[1])
            let new = Self.isOpen(later.load(ordering: .acquiring))
            seen.withLock { $0 = [isPrivate, old, new] }
            // Closing its copy leaves the main thread's open.
            close(before[1])
            done.signal()
        }
        unshared.wait()
        var after: [Int32] = [-1, -1]
        #expect(pipe(&after) == 0)
        defer { close(after[0]); close(after[1]) }
        later.store(after[0], ordering: .releasing)
        changed.signal()
        done.wait()
        #expect(seen.withLock { $0 } == [true, true, false])
        #expect(Self.isOpen(before[1]), "the thread closed only its own copy")
    }
}
