import L2Guest
import L2Wire
import Testing
@testable import L2Migration

/// Records the two byte streams of one small, clean migration.
func recordStreams() throws -> (toDestination: [UInt8], toSource: [UInt8], vm: TestVM) {
    let vm = try TestVM(pages: 32, nonZero: 12, seed: 3)
    // In clear: a recorded encrypted stream cannot be replayed to a new destination (fresh nonce, fresh keys).
    var pipe = Pipe(vm: vm, policy: ConvergencePolicy(downtimeTargetNanoseconds: 3_000),
                    workload: Workload(pagesPerMillisecond: 300, hotPages: 0..<32), encryption: .disabled)
    var toDestination: [UInt8] = []
    pipe.tamper = { toDestination += $0 }
    var toSource: [UInt8] = []
    pipe.run()
    // Rebuild the destination → source stream by replaying the recorded source stream.
    var destination = MigrationDestination(settings: destinationSettings(), now: 0)
    var pending = destination.receive(bytes: toDestination, now: 1)
    while !pending.isEmpty {
        let action = pending.removeFirst()
        switch action {
        case let .send(bytes): toSource += bytes
        case let .allocateMemory(spec):
            pending = destination.memoryAllocated(try GuestMemory(bytes: Int(spec.memoryBytes)), now: 2) + pending
        case .resumeVM: pending = destination.resumed(now: 3) + pending
        default: break
        }
    }
    #expect(pipe.result?.status == .completed)
    return (toDestination, toSource, vm)
}

@Suite("Fuzz: no input traps")
struct FuzzTests {
    @Test("thousands of random byte strings are rejected or wait, never trap")
    func randomBytes() {
        var rng = SplitMix64(seed: 2024)
        var rejected = 0
        for iteration in 0..<4000 {
            var bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if iteration % 2 == 0 {
                // A valid magic and version, so the fuzzer gets past the first checks.
                bytes = [0x4C, 0x32, 0x4D, 0x56, MigrationWire.version, UInt8.random(in: 0...14, using: &rng), 0, 0, 0, 0, 0,
                         UInt8(bytes.count)] + bytes
            }
            var decoder = MigrationDecoder(pageCount: 8)
            decoder.append(bytes)
            do {
                while try decoder.next() != nil {}
            } catch {
                rejected += 1
                #expect(!error.description.isEmpty)
            }
            var destination = MigrationDestination(settings: destinationSettings(), now: 0)
            _ = destination.receive(bytes: bytes, now: 1)
        }
        #expect(rejected > 2000)
    }

    @Test("mutated valid streams never trap and never resume a VM with wrong memory")
    func mutatedStreams() throws {
        let (stream, backStream, vm) = try recordStreams()
        let sourceDigest = vm.memory.digest()
        var rng = SplitMix64(seed: 99)
        var resumedExact = 0
        var refused = 0
        for _ in 0..<300 {
            var bytes = stream
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                }
            case 1:
                bytes.removeLast(Int.random(in: 1..<bytes.count, using: &rng))
            case 2:
                bytes.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0..<bytes.count, using: &rng))
            default:
                let start = Int.random(in: 0..<bytes.count, using: &rng)
                bytes.removeSubrange(start..<min(bytes.count, start + Int.random(in: 1...64, using: &rng)))
            }
            var destination = MigrationDestination(settings: destinationSettings(), now: 0)
            var offset = 0
            var resumed = false
            while offset < bytes.count, destination.phase != .discarded, destination.phase != .awaitingCoordinator {
                let count = min(Int.random(in: 1...5000, using: &rng), bytes.count - offset)
                var pending = destination.receive(bytes: bytes[offset..<offset + count], now: 1)
                offset += count
                while !pending.isEmpty {
                    switch pending.removeFirst() {
                    case let .allocateMemory(spec):
                        if spec.memoryBytes <= 1 << 24 {
                            pending = destination.memoryAllocated(try GuestMemory(bytes: Int(spec.memoryBytes)), now: 2) + pending
                        } else {
                            pending = destination.memoryAllocationFailed(reason: "fuzz", now: 2) + pending
                        }
                    case .resumeVM:
                        resumed = true
                        // The proof: a resumed VM always holds the source's exact memory.
                        #expect(destination.memory?.digest() == sourceDigest)
                        pending = destination.resumed(now: 3) + pending
                    default: break
                    }
                }
            }
            if resumed { resumedExact += 1 }
            if destination.phase == .discarded { refused += 1 }
        }
        #expect(refused > 100)
        // Mutations that later rounds overwrote (or that hit only the vCPU/workload blobs) still resume,
        // so the digest expectation above really ran.
        #expect(resumedExact > 0)

        // The other direction: mutated destination replies never trap the source.
        for _ in 0..<300 {
            var bytes = backStream
            bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            let memory = try GuestMemory(pageCount: 32)
            var source = MigrationSource(spec: makeSpec(pages: 32), memory: memory,
                                         settings: MigrationSourceSettings(migrationID: testID, secret: testSecret), now: 0)
            _ = source.start(now: 0)
            var buffer: [UInt8] = []
            for chunk in stride(from: 0, to: bytes.count, by: 7) {
                _ = source.receive(bytes: bytes[chunk..<min(bytes.count, chunk + 7)], now: 1)
                if source.wantsToProduce { _ = source.produce(into: &buffer, budget: 1 << 20, now: 2) }
            }
            #expect(source.phase != .completed || source.result(now: 3).verified)
        }
    }
}
