import FuzzSupport
import L2Migration

/// `SecureChannel.open` on arbitrary chunks. Input: [control][chunk seed][valid records][plaintext
/// length][plaintext...][raw bytes...]. Control picks the record limit (both ends use it) and how
/// many valid records, sealed by a source-side channel with the same keys, come first, so the fuzzer
/// sees authenticated records followed by garbage as well as garbage alone. Invariants: the valid
/// records open to exactly what was sealed; once `open` threw, it keeps throwing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzReader(data, size)
    let control = input.u8()
    let (source0, destination0) = FuzzChannel.pairs[Int(control & 7)]
    var chunks = ChunkSizes(seed: input.u8(), limit: 4096)
    let records = Int(control >> 3 & 3)
    let sealedPlaintext = Array(input.take(Int(input.u8()) * records))

    var source = source0
    var destination = destination0
    var wire: [UInt8] = []
    if records > 0 {
        try! source.seal(sealedPlaintext, into: &wire)
    }
    wire += input.rest()

    var opened: [UInt8] = []
    var failed = false
    for chunk in chunks.split(wire) {
        do {
            try destination.open(chunk, into: &opened)
            if failed { fuzzFailure("open succeeded after an error") }
        } catch {
            _ = error.description
            if destination.error == nil { fuzzFailure("open threw \(error) but the channel reports no error") }
            failed = true
        }
    }
    if !sealedPlaintext.isEmpty && wire.count >= sealedPlaintext.count && opened.count >= sealedPlaintext.count
        && Array(opened.prefix(sealedPlaintext.count)) != sealedPlaintext {
        fuzzFailure("the valid records opened to other bytes")
    }
    do { try destination.finish() } catch { _ = error.description }
    return 0
}

enum FuzzChannel {
    /// Record limits (out-of-range ones are clamped by the channel).
    static let limits = [1, 16, 100, 4096, SecureChannel.defaultMaxRecordLength, 0, -5, 1 << 30]
    /// Fresh channel pairs per limit, keyed once (HKDF per input would dominate the run time); each
    /// input works on copies.
    static let pairs = limits.map { (make(.source, $0), make(.destination, $0)) }

    static func make(_ role: SecureChannel.Role, _ limit: Int) -> SecureChannel {
        SecureChannel(secret: FuzzMigration.secret, id: FuzzMigration.id, sourceNonce: FuzzMigration.sourceNonce,
                      destinationNonce: FuzzMigration.destinationNonce, role: role, maxRecordLength: limit)
    }
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested {
        var seeds: [[UInt8]] = []
        let stream = FuzzMigration.stream(pages: 1, rounds: 1, seed: 9)
        // Valid records only, record limits 1, 16, 100 and 256 KiB, several splits.
        seeds.append([1 << 3 | 1, 0, 40] + Array(stream.prefix(40)))
        seeds.append([2 << 3 | 2, 3, 200] + Array(stream.prefix(400)))
        seeds.append([3 << 3 | 4, 77, 255] + Array(stream.prefix(765)))
        seeds.append([1 << 3 | 0, 1, 3, 0xAA, 0xBB, 0xCC])
        // Valid records followed by garbage, by a replayed-looking header, by a zero length.
        seeds.append([1 << 3 | 3, 5, 10] + Array(0..<10) + [0, 0, 0, 10] + Array(repeating: 0x42, count: 26))
        seeds.append([1 << 3 | 2, 0, 8] + Array(8..<16) + [0, 0, 0, 0])
        seeds.append([2 << 3 | 1, 9, 1, 0x7F, 0xFF] + Array(repeating: 0xFF, count: 30))
        // Garbage alone: a clear migration stream where records were expected, a huge length.
        seeds.append([4, 0, 0] + Array(stream.prefix(300)))
        seeds.append([4, 2, 0, 0x00, 0x04, 0x00, 0x01] + Array(repeating: 0, count: 40))
        return seeds
    }
    return 0
}

@_cdecl("FuzzChannel_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { fuzz($0, $1) }
}
