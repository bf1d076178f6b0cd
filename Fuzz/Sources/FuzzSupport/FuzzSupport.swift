#if canImport(Glibc)
import Glibc
#endif
import L2Guest
import L2Migration
import L2Wire

/// Reads a fuzz input front to back: control bytes (chunk sizes, ports, modes) are taken from it as
/// the harness needs them; reading past the end yields zeros.
public struct FuzzReader {
    public let bytes: UnsafeBufferPointer<UInt8>
    public private(set) var index = 0

    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        bytes = UnsafeBufferPointer(start: size > 0 ? data : nil, count: size)
    }

    public var remaining: Int { bytes.count - index }
    public var isAtEnd: Bool { index >= bytes.count }

    public mutating func u8() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }

    public mutating func u16() -> UInt16 { UInt16(u8()) << 8 | UInt16(u8()) }

    /// Up to `count` bytes (fewer at the end).
    public mutating func take(_ count: Int) -> ArraySlice<UInt8> {
        let end = min(bytes.count, index + max(0, count))
        defer { index = end }
        return bytes.isEmpty ? [] : Array(bytes[index..<end])[...]
    }

    /// Everything not read yet.
    public mutating func rest() -> [UInt8] { Array(take(remaining)) }
}

/// Seed corpus generation: when `L2M_FUZZ_SEEDS=<dir>` is set, a fuzzer's `LLVMFuzzerInitialize`
/// writes its seeds there as `seed-NNN` and exits instead of fuzzing.
public enum Seeds {
    public static func writeIfRequested(_ make: () -> [[UInt8]]) {
        guard let dir = getenv("L2M_FUZZ_SEEDS").map({ String(cString: $0) }) else { return }
        let seeds = make()
        for (number, seed) in seeds.enumerated() {
            let path = dir + "/" + "seed-" + String(number + 1).leftPadded(to: 3)
            guard let file = fopen(path, "wb") else {
                printError("cannot write \(path)")
                exit(1)
            }
            _ = seed.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
        print("wrote \(seeds.count) seeds to \(dir)")
        exit(0)
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// The migration every fuzzer speaks: a fixed id and key, so a harness can prefix a valid hello.
public enum FuzzMigration {
    public static let id = MigrationID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
    public static let secret = MigrationSecret(bytes: (0..<32).map { UInt8($0 &* 7 &+ 1) })!
    public static let sourceNonce = MigrationNonce(bytes: (0..<16).map { UInt8($0 &+ 0xA0) })!
    public static let destinationNonce = MigrationNonce(bytes: (0..<16).map { UInt8($0 &+ 0x50) })!
    /// The largest VM a fuzzed destination accepts (keeps every allocation small).
    public static let maxPages = 16

    public static func spec(pages: Int) -> MigrationSpec {
        MigrationSpec(vmName: "web01", mac: MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10), ip: IPv4Address(10, 10, 0, 10),
                      memoryBytes: UInt64(pages * GuestMemory.pageSize), portGroup: "Production", datastore: "shared01")
    }

    public static func settings() -> MigrationDestinationSettings {
        MigrationDestinationSettings(migrationID: id, secret: secret, encryption: .disabled,
                                     maxMemoryBytes: UInt64(maxPages * GuestMemory.pageSize),
                                     portGroups: ["Production"], datastores: ["shared01"])
    }

    /// An authenticated hello asking for no encryption.
    public static var hello: [UInt8] {
        MigrationEncoder.encode(.hello(id: id, protocolVersion: UInt16(MigrationWire.version),
                                       authentication: HelloAuthentication(id: id, encryption: .disabled,
                                                                           nonce: sourceNonce, key: secret)))
    }

    /// A complete clear migration stream of `pages` pages over `rounds` rounds as the source sends it:
    /// hello, spec, page batches, round ends, switchover (with the right digest), a forwarded frame and
    /// commit. Page contents derive from `seed`; every third page stays zero.
    public static func stream(pages: Int, rounds: Int, seed: UInt8, frames: Int = 1) -> [UInt8] {
        segments(pages: pages, rounds: rounds, seed: seed, frames: frames).flatMap { $0 }
    }

    /// `stream` cut where a real source waits for the destination: after the spec (for
    /// `specAccepted`) and after the switchover (for `verified` and `resumed`).
    public static func segments(pages: Int, rounds: Int, seed: UInt8, frames: Int = 1) -> [[UInt8]] {
        var out = hello
        MigrationEncoder.append(.spec(spec(pages: pages)), to: &out)
        let setup = out
        out = []
        var hashes = [UInt64](repeating: PageHash.zeroPage, count: pages)
        var page = [UInt8](repeating: 0, count: GuestMemory.pageSize)
        for round in 1...max(1, rounds) {
            var writer = PageBatchWriter()
            let start = out.count
            writer.begin(round: UInt32(round), in: &out)
            // Round 1 sends every page, later rounds a few "dirtied" ones.
            let sent = round == 1 ? Array(0..<pages) : Array(stride(from: round % pages, to: pages, by: 3))
            // Round 1 ends with one zero range over the last quarter of memory (at least two pages).
            let rangeStart = round == 1 && pages >= 3 ? pages - max(2, pages / 4) : pages
            for index in sent where index < rangeStart {
                if index % 3 == 2 && round == 1 {
                    writer.appendZero(page: index, in: &out)
                    hashes[index] = PageHash.zeroPage
                } else {
                    for offset in stride(from: 0, to: page.count, by: 64) {
                        page[offset] = seed &+ UInt8(truncatingIfNeeded: index &* 31 &+ round &* 7 &+ offset / 64)
                    }
                    hashes[index] = page.withUnsafeBytes { writer.appendPage(page: index, contents: $0.baseAddress!, in: &out) }
                }
            }
            if rangeStart < pages { writer.appendZero(pages: rangeStart..<pages, in: &out) }
            writer.finish(in: &out)
            MigrationEncoder.append(.roundEnd(round: UInt32(round), pages: UInt64(sent.count), bytes: UInt64(out.count - start)),
                                    to: &out)
        }
        let queued: [[UInt8]] = Array(repeating: Announce.rarpFrame(for: MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10)),
                                      count: frames)
        MigrationEncoder.append(.switchover(SwitchoverState(finalRound: UInt32(max(1, rounds)), vcpuState: [1, 2, 3, 4],
                                                            workloadState: [9, 8, 7], queuedFrames: queued,
                                                            pageCount: UInt64(pages),
                                                            memoryDigest: PageHash.Running.of(hashes))), to: &out)
        var after: [UInt8] = []
        MigrationEncoder.append(.forwardedFrame(Announce.rarpFrame(for: MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10))),
                                to: &after)
        MigrationEncoder.append(.commit, to: &after)
        return [setup, out, after]
    }

    /// One of every message type, each encoded on its own (seeds for the decoder).
    public static var everyMessage: [[UInt8]] {
        let messages: [MigrationMessage] = [
            .specAccepted(SpecAcceptance(id: id, cipher: .unencrypted, sourceNonce: sourceNonce, nonce: destinationNonce,
                                         spec: spec(pages: 4), key: secret)),
            .specAccepted(SpecAcceptance(id: id, cipher: .aes256GCM, sourceNonce: sourceNonce, nonce: destinationNonce,
                                         spec: spec(pages: 4), key: secret)),
            .specRejected(reason: "port group \"Production\" not found"),
            .roundEnd(round: 3, pages: 17, bytes: 70_000),
            .verified(digest: 0x1234_5678_9ABC_DEF0),
            .verifyFailed(reason: "memory digest differs"),
            .resumed(atNanoseconds: 1_764_355_200_000_000_000, arrivedAtNanoseconds: 1_764_355_199_990_000_000,
                     verifiedAtNanoseconds: 1_764_355_199_995_000_000),
            .forwardedFrame(Announce.rarpFrame(for: MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10))),
            .commit,
            .abort(reason: "link down"),
        ]
        return messages.map { MigrationEncoder.encode($0) }
    }
}

/// Chunk sizes for splitting a stream the way TCP reads would: a seeded SplitMix, sizes 1...`limit`;
/// seed 0 delivers everything in one chunk.
public struct ChunkSizes {
    var state: UInt64
    let whole: Bool
    let limit: Int

    public init(seed: UInt8, limit: Int = 9000) {
        state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15
        whole = seed == 0
        self.limit = limit
    }

    public mutating func next() -> Int {
        guard !whole else { return Int.max }
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        // Mostly small reads, sometimes a big one.
        return z & 3 == 0 ? 1 + Int(z >> 8) % limit : 1 + Int(z >> 8) % 64
    }

    /// `bytes` cut into chunks.
    public mutating func split(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var chunks: [ArraySlice<UInt8>] = []
        var start = 0
        while start < bytes.count {
            let end = start + min(next(), bytes.count - start)
            chunks.append(bytes[start..<end])
            start = end
        }
        return chunks
    }
}

/// Stops the process the way a libFuzzer finding should: message on stderr, then abort.
public func fuzzFailure(_ message: String) -> Never {
    printError("fuzz invariant violated: \(message)")
    abort()
}

/// Writes a line to standard error.
public func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// libFuzzer's entry for programs that have their own `main`.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// Runs libFuzzer with the process's arguments. SwiftPM links an executable target's entry point
/// `<Module>_main` as `main`, so each fuzzer defines that symbol and calls this (instead of relying
/// on libFuzzer's own `main`).
public func runLibFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &arguments, callback)
}
