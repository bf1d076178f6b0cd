/// A post-copy destination's view of the pages its VM does not hold yet: which are missing, which
/// the VM waits for (its faults, until the host has asked for them), and the frames held until the
/// page they touch arrives. Pure; the VM's owner serialises access.
public struct PostcopyPages: Sendable, Equatable {
    private var missing: [UInt64]
    public private(set) var missingCount: Int
    /// Pages the VM waits for that the host has not asked for yet.
    private var faults: [Int] = []
    private var faulted: Set<Int> = []
    /// Frames waiting for a page, oldest first.
    private var held: [(page: Int, frame: [UInt8])] = []
    /// The most frames held at once; more are dropped (and counted).
    public static let maximumHeldFrames = 1024
    public private(set) var droppedFrames = 0

    public init(missing: [UInt64]) {
        self.missing = missing
        missingCount = missing.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    public func isMissing(_ page: Int) -> Bool {
        page >= 0 && page >> 6 < missing.count && missing[page >> 6] & (UInt64(1) << UInt64(page & 63)) != 0
    }

    /// The VM waits for `page` (once per page until it arrives).
    public mutating func fault(_ page: Int) {
        guard isMissing(page), faulted.insert(page).inserted else { return }
        faults.append(page)
    }

    /// A frame waits for `page`.
    public mutating func hold(_ frame: [UInt8], waitingFor page: Int) {
        fault(page)
        guard held.count < Self.maximumHeldFrames else {
            droppedFrames += 1
            return
        }
        held.append((page, frame))
    }

    /// The faults not asked for yet (each handed out once).
    public mutating func takeFaults() -> [Int] {
        defer { faults.removeAll(keepingCapacity: true) }
        return faults
    }

    /// `pages` arrived: returns the held frames whose page is now here, oldest first.
    public mutating func arrived(_ pages: [Int]) -> [[UInt8]] {
        for page in pages where isMissing(page) {
            missing[page >> 6] &= ~(UInt64(1) << UInt64(page & 63))
            missingCount -= 1
            faulted.remove(page)
        }
        var released: [[UInt8]] = []
        var waiting: [(page: Int, frame: [UInt8])] = []
        for entry in held {
            if isMissing(entry.page) { waiting.append(entry) } else { released.append(entry.frame) }
        }
        held = waiting
        return released
    }

    public static func == (lhs: PostcopyPages, rhs: PostcopyPages) -> Bool {
        lhs.missing == rhs.missing && lhs.faults == rhs.faults && lhs.held.map(\.frame) == rhs.held.map(\.frame)
    }
}
