import FuzzSupport
import L2Migration

/// `MigrationDecoder` on arbitrary bytes. Input: [page count selector][chunk seed][stream...]; the
/// stream is appended in chunks and `next()` called after each until it returns nil or throws. Once
/// it threw, every later call must throw too. Decoded page batches are walked record by record.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzReader(data, size)
    let selector = input.u8()
    let pageCount: Int? = selector == 0 ? nil : 1 + Int(selector % 64)
    var chunks = ChunkSizes(seed: input.u8())
    let stream = input.rest()
    var decoder = MigrationDecoder(pageCount: pageCount)
    var failed = false
    for chunk in chunks.split(stream) {
        decoder.append(chunk)
        while true {
            do {
                guard let message = try decoder.next() else { break }
                if failed { fuzzFailure("decoder returned a message after an error") }
                inspect(message, pageCount: pageCount)
            } catch {
                if decoder.error == nil { fuzzFailure("decoder threw \(error) but reports no error") }
                _ = error.description
                failed = true
                break
            }
        }
        if failed { break }
    }
    if failed {
        do {
            _ = try decoder.next()
            fuzzFailure("a failed decoder returned normally")
        } catch {}
    }
    return 0
}

func inspect(_ message: MigrationMessage, pageCount: Int?) {
    _ = message.type.description
    guard case let .pageBatch(batch) = message else { return }
    guard let pageCount else { fuzzFailure("page batch decoded without a page count") }
    var seen = 0, normal = 0
    batch.forEachPage { index, contents in
        if index < 0 || index >= pageCount { fuzzFailure("page index \(index) of \(pageCount) passed the decoder") }
        if let contents {
            if contents.count != MigrationWire.pageSize { fuzzFailure("page of \(contents.count) bytes") }
            normal += 1
            _ = contents.last
        }
        seen += 1
    }
    if seen != batch.pageCount || normal != batch.normalCount { fuzzFailure("batch covers \(batch.pageCount) pages, \(batch.normalCount) normal; walked \(seen)/\(normal)") }
    var records = 0
    batch.forEachRecord { record in
        records += 1
        if case let .zero(pages) = record, pages.isEmpty || pages.lowerBound < 0 || pages.upperBound > pageCount {
            fuzzFailure("zero range \(pages) of \(pageCount) passed the decoder")
        }
    }
    if records != batch.count { fuzzFailure("batch of \(batch.count) records walked \(records)") }
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested {
        var seeds: [[UInt8]] = []
        // Whole streams, with a page count that fits, split several ways.
        seeds.append([4, 0] + FuzzMigration.stream(pages: 2, rounds: 1, seed: 1))
        seeds.append([4, 17] + FuzzMigration.stream(pages: 3, rounds: 2, seed: 2))
        seeds.append([1, 200] + FuzzMigration.stream(pages: 1, rounds: 3, seed: 3, frames: 3))
        // A page count too small for the stream; none at all.
        seeds.append([1, 5] + FuzzMigration.stream(pages: 2, rounds: 1, seed: 4))
        seeds.append([0, 9] + FuzzMigration.stream(pages: 1, rounds: 1, seed: 5))
        // Every other message on its own, and all of them back to back.
        for (number, message) in FuzzMigration.everyMessage.enumerated() {
            seeds.append([UInt8(number), UInt8(number * 3)] + message)
        }
        seeds.append([8, 33] + FuzzMigration.everyMessage.flatMap { $0 })
        seeds.append([8, 0] + FuzzMigration.hello)
        return seeds
    }
    return 0
}

@_cdecl("FuzzDecoder_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { fuzz($0, $1) }
}
