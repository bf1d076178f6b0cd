#if canImport(Glibc)
import Glibc
#endif
import FuzzSupport
import L2Guest
import L2Migration

/// `MigrationDestination.receive(bytes:now:)` on arbitrary bytes, `.disabled` encryption, VMs of at
/// most `FuzzMigration.maxPages` pages. The driver part is played faithfully: memory is allocated
/// (or the allocation fails, or is the wrong size, as the control byte says), a resumed VM is reported
/// resumed, and the connection ends with a late `tick` and `connectionLost`.
///
/// Input: [control][chunk seed] then segments [u16 length][bytes]; each segment is received in chunks
/// and the driver's actions are performed before the next (so a source's waits for `specAccepted`
/// and `resumed` can be expressed). Control bits 0-1 pick a valid first segment so the fuzzer starts
/// past the authentication it cannot forge: 0 none, 1 hello, 2 hello + spec of (1 + bits 2-5) pages;
/// bit 6 fails the allocation, bit 7 allocates one page too many.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzReader(data, size)
    let control = input.u8()
    var chunks = ChunkSizes(seed: input.u8())
    var segments: [[UInt8]] = []
    switch control & 3 {
    case 1:
        segments.append(FuzzMigration.hello)
    case 2:
        var setup = FuzzMigration.hello
        MigrationEncoder.append(.spec(FuzzMigration.spec(pages: 1 + Int(control >> 2 & 15))), to: &setup)
        segments.append(setup)
    default:
        break
    }
    while !input.isAtEnd {
        segments.append(Array(input.take(Int(input.u16()))))
    }

    var now: UInt64 = 1_000_000_000
    var destination = MigrationDestination(settings: FuzzMigration.settings(), now: now)
    for segment in segments {
        for chunk in chunks.split(segment) {
            now += 1_000
            run(destination.receive(bytes: chunk, now: now), on: &destination, control: control, now: &now)
            check(destination)
        }
    }
    run(destination.tick(now: now + 1), on: &destination, control: control, now: &now)
    run(destination.tick(now: now + 60_000_000_000), on: &destination, control: control, now: &now)
    run(destination.connectionLost(now: now + 60_000_000_001), on: &destination, control: control, now: &now)
    check(destination)
    _ = destination.currentReport
    if getenv("L2M_FUZZ_TRACE") != nil {
        printError("phase \(destination.phase), report \(destination.currentReport)")
    }
    return 0
}

func run(_ actions: [DestinationAction], on destination: inout MigrationDestination, control: UInt8, now: inout UInt64) {
    var pending = actions[...]
    while let action = pending.popFirst() {
        switch action {
        case let .allocateMemory(spec):
            if spec.memoryBytes > UInt64(FuzzMigration.maxPages * GuestMemory.pageSize) || spec.memoryBytes == 0 {
                fuzzFailure("asked to allocate \(spec.memoryBytes) bytes, over the host's limit")
            }
            if control & 0x40 != 0 {
                pending = destination.memoryAllocationFailed(reason: "fuzz", now: now)[...] + pending
            } else {
                let bytes = Int(spec.memoryBytes) + (control & 0x80 != 0 ? GuestMemory.pageSize : 0)
                let memory = try! GuestMemory(bytes: bytes)
                pending = destination.memoryAllocated(memory, now: now)[...] + pending
            }
        case .confirmSwitchover:
            pending = destination.switchoverReadiness(refusal: control & 0x20 != 0 ? "fuzz" : nil, detail: "fuzz",
                                                      now: now)[...] + pending
        case let .resumeVM(state), let .resumeVMPostcopy(state, _):
            if state.pageCount != UInt64(destination.memory?.pageCount ?? -1) { fuzzFailure("resume with a wrong page count") }
            now += 50_000
            pending = destination.resumed(now: now)[...] + pending
        case .send, .deliverFrame, .discard, .awaitCoordinator, .completed, .pagesArrived, .pauseVM, .unpauseVM:
            break
        }
    }
}

func check(_ destination: MigrationDestination) {
    if destination.phase == .discarded && destination.memory != nil { fuzzFailure("discarded but still holds memory") }
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested {
        func framed(_ segments: [[UInt8]]) -> [UInt8] {
            segments.flatMap { [UInt8($0.count >> 8), UInt8($0.count & 0xFF)] + $0 }
        }
        var seeds: [[UInt8]] = []
        // Complete migrations (they end committed), delivered whole or split several ways.
        seeds.append([0, 0] + framed(FuzzMigration.segments(pages: 2, rounds: 1, seed: 1)))
        seeds.append([0, 17] + framed(FuzzMigration.segments(pages: 3, rounds: 2, seed: 2)))
        seeds.append([0, 99] + framed(FuzzMigration.segments(pages: 1, rounds: 3, seed: 3, frames: 2)))
        // The same with the allocation failing, or the wrong size.
        seeds.append([0x40, 5] + framed(FuzzMigration.segments(pages: 1, rounds: 1, seed: 4)))
        seeds.append([0x80, 6] + framed(FuzzMigration.segments(pages: 1, rounds: 1, seed: 5)))
        // The harness's first segment, then the rest of a migration.
        var helloFirst = FuzzMigration.segments(pages: 2, rounds: 1, seed: 6)
        helloFirst[0].removeFirst(FuzzMigration.hello.count)
        seeds.append([1, 7] + framed(helloFirst))
        seeds.append([2 | 1 << 2, 8] + framed(Array(FuzzMigration.segments(pages: 2, rounds: 2, seed: 7).dropFirst())))
        // The whole stream at once: page batches arrive before the memory exists.
        seeds.append([0, 0] + framed([FuzzMigration.stream(pages: 1, rounds: 1, seed: 8)]))
        // Messages out of place after a valid prefix; a second hello; an abort.
        seeds.append([2, 0] + framed([FuzzMigration.everyMessage.flatMap { $0 }]))
        seeds.append([1, 0] + framed([MigrationEncoder.encode(.abort(reason: "link down"))]))
        seeds.append([0, 0] + framed([FuzzMigration.hello + FuzzMigration.hello]))
        return seeds
    }
    return 0
}

@_cdecl("FuzzDestination_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { fuzz($0, $1) }
}
