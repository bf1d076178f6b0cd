/// Everything a running workload needs to continue exactly where it stopped: the spec, the PRNG
/// position, counters, the throttle and the time base. A migration carries it (`encoded()`), and the
/// destination continues with the same page sequence and the same stamps.
///
/// `lastAdvance` is in the source's monotonic clock; after restoring on another host call
/// `Workload.resume(at:)` with the destination's clock, which resets the time base.
public struct WorkloadState: Hashable, Sendable, Codable {
    public var spec: WorkloadSpec
    public var random: GuestRandom
    /// Writes performed so far; also the stamp the next write stores (plus one).
    public var writes: UInt64
    /// The next page offset within the working set for the sequential pattern.
    public var sequentialCursor: Int
    /// Writes owed but not yet whole (fractional carry between calls).
    public var carry: Double
    public var throttlePercent: Int
    public var paused: Bool
    /// Time of the last `advance`/`resume`, nanoseconds in the caller's monotonic clock.
    public var lastAdvance: UInt64

    static let magic: UInt32 = 0x4C32_574B // "L2WK"
    static let version: UInt16 = 1

    /// A compact little-endian byte blob of this state.
    public func encoded() -> [UInt8] {
        var writer = ByteWriter()
        write(to: &writer)
        return writer.bytes
    }

    /// Decodes a blob made by `encoded()`.
    public init(bytes: [UInt8]) throws(GuestBlobError) {
        var reader = ByteReader(bytes, what: "workload state")
        try self.init(from: &reader)
        try reader.finish()
    }

    init(spec: WorkloadSpec, seed: UInt64, now: UInt64) {
        self.spec = spec
        random = GuestRandom(seed: seed)
        writes = 0
        sequentialCursor = 0
        carry = 0
        throttlePercent = 0
        paused = false
        lastAdvance = now
    }

    func write(to writer: inout ByteWriter) {
        writer.u32(Self.magic)
        writer.u16(Self.version)
        let presetBytes = Array((spec.preset ?? "").utf8)
        writer.blob(presetBytes)
        writer.f64(spec.pagesPerSecond)
        writer.int(spec.workingSetPages)
        writer.u8(Self.patternCode(spec.pattern))
        writer.f64(spec.hotSetFraction)
        writer.f64(spec.hotWriteFraction)
        writer.u64(random.state)
        writer.u64(writes)
        writer.int(sequentialCursor)
        writer.f64(carry)
        writer.u8(UInt8(throttlePercent))
        writer.bool(paused)
        writer.u64(lastAdvance)
    }

    init(from reader: inout ByteReader) throws(GuestBlobError) {
        let magic = try reader.u32()
        guard magic == Self.magic else { throw .badMagic(what: reader.what, found: magic) }
        let version = try reader.u16()
        guard version == Self.version else { throw .unsupportedVersion(what: reader.what, version: version) }
        let presetBytes = try reader.blob()
        let pagesPerSecond = try reader.f64()
        let workingSetPages = try reader.int()
        let patternCode = try reader.u8()
        guard let pattern = Self.pattern(code: patternCode) else {
            throw .invalidField(what: reader.what, field: "pattern", value: UInt64(patternCode))
        }
        let hotSet = try reader.f64()
        let hotWrite = try reader.f64()
        spec = WorkloadSpec(preset: presetBytes.isEmpty ? nil : String(decoding: presetBytes, as: UTF8.self),
                            pagesPerSecond: pagesPerSecond, workingSetPages: workingSetPages, pattern: pattern,
                            hotSetFraction: hotSet, hotWriteFraction: hotWrite)
        guard spec.problems().isEmpty else {
            throw .invalidField(what: reader.what, field: "spec", value: UInt64(bitPattern: Int64(workingSetPages)))
        }
        random = GuestRandom(seed: try reader.u64())
        writes = try reader.u64()
        sequentialCursor = try reader.int()
        guard sequentialCursor >= 0 else {
            throw .invalidField(what: reader.what, field: "sequentialCursor", value: UInt64(bitPattern: Int64(sequentialCursor)))
        }
        carry = try reader.f64()
        let throttle = try reader.u8()
        guard throttle <= Workload.maxThrottle else {
            throw .invalidField(what: reader.what, field: "throttlePercent", value: UInt64(throttle))
        }
        throttlePercent = Int(throttle)
        paused = try reader.bool("paused")
        lastAdvance = try reader.u64()
    }

    static func patternCode(_ pattern: WorkloadPattern) -> UInt8 {
        switch pattern {
        case .uniform: 0
        case .hotCold: 1
        case .sequential: 2
        }
    }

    static func pattern(code: UInt8) -> WorkloadPattern? {
        switch code {
        case 0: .uniform
        case 1: .hotCold
        case 2: .sequential
        default: nil
        }
    }
}

/// A guest workload that dirties memory at a rate, over a working set, in a pattern; driven by the
/// caller's clock. Pure: it writes only through `GuestMemory` (which sets the dirty bits).
///
/// Each write stores an incrementing 64-bit stamp at a varying 8-byte slot of the chosen page, so
/// every write really changes the page. Time is passed in; writes owed since the last call are done
/// in `advance(to:memory:)`, at most `maxCatchUpNanoseconds` worth per call (a guest that got no CPU
/// does not make up for it later).
///
/// Throttle (`setThrottle(percent:)`, 0...99) scales the rate by `(100 - percent) / 100`, like
/// QEMU's auto-converge or vMotion's SDPS. Stun (`pause()` / `resume(at:)`): while paused nothing is
/// written and the paused time is never owed. Changes take effect from the last `advance`, so call
/// `advance(to: now, …)` first when the exact switch time matters (`VirtualMachine` does).
public struct Workload: Hashable, Sendable {
    public static let maxThrottle: UInt8 = 99
    /// The most time one `advance` pays writes for: one second.
    public static let maxCatchUpNanoseconds: UInt64 = 1_000_000_000

    public private(set) var state: WorkloadState
    /// Post-copy: the page the next write goes to, which is not here yet; the workload waits for it
    /// (its vCPU blocks) and writes it first once it arrives. Not part of the migrated state: a VM
    /// migrates again only once every page is here.
    public private(set) var blockedPage: Int?

    public var spec: WorkloadSpec { state.spec }
    public var writes: UInt64 { state.writes }
    public var throttlePercent: Int { state.throttlePercent }
    public var isPaused: Bool { state.paused }

    /// The rate after throttling, in writes per second.
    public var effectiveRate: Double {
        state.spec.pagesPerSecond * Double(100 - state.throttlePercent) / 100
    }

    /// A fresh workload whose clock starts at `now`. Traps on a spec with `problems()` (validate first).
    public init(spec: WorkloadSpec, seed: UInt64, now: UInt64) {
        precondition(spec.problems().isEmpty, "invalid workload: \(spec.problems().joined(separator: "; "))")
        state = WorkloadState(spec: spec, seed: seed, now: now)
    }

    /// Continues from a saved state (e.g. received in a migration). If it was saved paused (a stunned
    /// VM), it stays paused until `resume(at:)`.
    public init(state: WorkloadState) {
        self.state = state
    }

    /// Sets the throttle; values outside 0...99 are clamped.
    public mutating func setThrottle(percent: Int) {
        state.throttlePercent = min(max(percent, 0), Int(Self.maxThrottle))
    }

    /// Stops writing (the VM is stunned). Time since the last `advance` is forfeited, so call
    /// `advance(to: now, memory:)` first to pay the writes owed up to the stun.
    public mutating func pause() {
        state.paused = true
    }

    /// Starts writing again; time before `now` is not owed. Also rebases the clock after a migration.
    public mutating func resume(at now: UInt64) {
        state.paused = false
        state.lastAdvance = now
    }

    /// The pages the workload may write, given the memory it runs in.
    public static func workingSet(_ spec: WorkloadSpec, pageCount: Int) -> Range<Int> {
        let end = GuestLayout.dataEnd(pageCount: pageCount)
        let first = min(GuestLayout.firstDataPage, end)
        let count = max(0, min(spec.workingSetPages, end - first))
        return first..<(first + count)
    }

    /// Performs the writes owed between the last call and `now`; returns how many it performed.
    /// A `now` earlier than the last call writes nothing.
    ///
    /// `isMissing` (post-copy): a write whose page is not here yet stops the workload there, as a
    /// vCPU blocks on a page fault: `blockedPage` names it, the time until it arrives pays no writes,
    /// and the next call after it arrived writes it first.
    @discardableResult
    public mutating func advance(to now: UInt64, memory: GuestMemory, isMissing: ((Int) -> Bool)? = nil) -> Int {
        guard !state.paused else { return 0 }
        guard now > state.lastAdvance else { return 0 }
        if let blocked = blockedPage {
            // Blocked time is lost, as for a vCPU waiting on a fault.
            guard isMissing?(blocked) != true else {
                state.lastAdvance = now
                return 0
            }
            blockedPage = nil
            write(page: blocked, memory: memory)
        }
        let elapsed = min(now - state.lastAdvance, Self.maxCatchUpNanoseconds)
        state.lastAdvance = now
        let owed = effectiveRate * Double(elapsed) / 1e9 + state.carry
        let whole = owed.rounded(.down)
        state.carry = owed - whole
        let count = Int(whole)
        let set = Self.workingSet(state.spec, pageCount: memory.pageCount)
        guard count > 0, !set.isEmpty else { return 0 }
        for done in 0..<count {
            let page = set.lowerBound + nextPageIndex(in: set.count)
            if let isMissing, isMissing(page) {
                blockedPage = page
                state.carry = 0
                return done
            }
            write(page: page, memory: memory)
        }
        return count
    }

    private mutating func write(page: Int, memory: GuestMemory) {
        state.writes &+= 1
        let slot = Int(truncatingIfNeeded: state.writes & 511) << 3
        memory.storeUInt64(state.writes, at: (page << GuestMemory.pageShift) + slot)
    }

    private mutating func nextPageIndex(in size: Int) -> Int {
        switch state.spec.pattern {
        case .uniform:
            return state.random.next(below: size)
        case .sequential:
            let index = state.sequentialCursor % size
            state.sequentialCursor = (index + 1) % size
            return index
        case .hotCold:
            let hot = min(size, max(1, Int((Double(size) * state.spec.hotSetFraction).rounded(.down))))
            let cold = size - hot
            if cold == 0 || state.random.nextUnit() < state.spec.hotWriteFraction {
                return state.random.next(below: hot)
            }
            return hot + state.random.next(below: cold)
        }
    }
}
