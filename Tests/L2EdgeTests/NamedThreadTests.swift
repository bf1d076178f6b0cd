import Dispatch
import L2Edge
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("NamedThread")
struct NamedThreadTests {
    /// The file `descriptor` names in the calling thread's descriptor table (device and inode), nil
    /// if the number is not open there. Comparing files rather than asking "is this number open"
    /// keeps the test right when other tests, running in parallel, reuse descriptor numbers.
    static func file(_ descriptor: Int32) -> [UInt64]? {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        return [UInt64(status.st_dev), UInt64(status.st_ino)]
    }

    @Test("a private descriptor table keeps what was open, does not see what other threads open later, and closes only its own copies")
    func privateDescriptorTable() throws {
        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0)
        let before = ends
        defer { close(before[0]); close(before[1]) }
        let beforeFile = try #require(Self.file(before[1]))
        let unshared = DispatchSemaphore(value: 0)
        let changed = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let later = Atomic<Int32>(-1)
        // What the thread saw: the call's result, then the files its table names under the two numbers.
        let seen = Mutex<(Bool, [UInt64]?, [UInt64]?)>((false, nil, nil))
        NamedThread.start("fdtable-test") {
            let isPrivate = NamedThread.usePrivateDescriptorTable()
            unshared.signal()
            changed.wait()
            let old = Self.file(before[1])
            let new = Self.file(later.load(ordering: .acquiring))
            seen.withLock { $0 = (isPrivate, old, new) }
            // Closing its copy leaves the main thread's open.
            close(before[1])
            done.signal()
        }
        unshared.wait()
        var after: [Int32] = [-1, -1]
        #expect(pipe(&after) == 0)
        defer { close(after[0]); close(after[1]) }
        let afterFile = try #require(Self.file(after[0]))
        later.store(after[0], ordering: .releasing)
        changed.signal()
        done.wait()
        let (isPrivate, old, new) = seen.withLock { $0 }
        #expect(isPrivate)
        #expect(old == beforeFile, "a descriptor open before the unshare is still there")
        #expect(new != afterFile, "a descriptor the main thread opened later is not in the thread's table")
        #expect(Self.file(before[1]) == beforeFile, "the thread closed only its own copy")
    }
}
