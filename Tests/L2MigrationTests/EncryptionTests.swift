#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import L2Guest
import L2Wire
import Testing
@testable import L2Migration

/// True when `needle` occurs anywhere in `haystack`.
func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    return haystack.withUnsafeBytes { hay in
        needle.withUnsafeBytes { pin in
            var offset = 0
            while offset + pin.count <= hay.count {
                guard let found = memchr(hay.baseAddress! + offset, Int32(pin[0]), hay.count - offset - pin.count + 1) else {
                    return false
                }
                let at = hay.baseAddress!.distance(to: UnsafeRawPointer(found))
                if memcmp(hay.baseAddress! + at, pin.baseAddress!, pin.count) == 0 { return true }
                offset = at + 1
            }
            return false
        }
    }
}

/// A 32-byte pattern no random page contains by chance.
let guestPattern = Array("l2motion guest secret 0123456789".utf8)

/// A small VM with the pattern written into page 5 (and 40 random pages), and a pipe that records both streams.
func patternPipe(source: MigrationEncryptionMode, destination: MigrationEncryptionMode, secret: MigrationSecret = testSecret,
                 destinationSecret: MigrationSecret = testSecret) throws -> Pipe {
    let vm = try TestVM(pages: 256, nonZero: 40, seed: 11)
    vm.write(at: 5 * GuestMemory.pageSize + 1000, guestPattern)
    vm.memory.dirty.clearAll()
    var pipe = Pipe(vm: vm, policy: ConvergencePolicy(downtimeTargetNanoseconds: 2_000),
                    workload: Workload(pagesPerMillisecond: 100, hotPages: 0..<64),
                    destination: destinationSettings(secret: destinationSecret, encryption: destination),
                    encryption: source, secret: secret)
    pipe.captureStreams = true
    return pipe
}

/// The records of a sealed byte string: (offset of the length field, ciphertext length).
func records(in bytes: [UInt8]) -> [(offset: Int, length: Int)] {
    var out: [(Int, Int)] = []
    var offset = 0
    while offset + 4 <= bytes.count {
        let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
        out.append((offset, length))
        offset += 4 + length + 16
    }
    return out
}

struct ModeCase: Sendable, CustomTestStringConvertible {
    let source: MigrationEncryptionMode
    let destination: MigrationEncryptionMode
    /// nil: refused.
    let cipher: MigrationStreamCipher?
    var testDescription: String { "\(source)/\(destination)" }
}

@Suite("Encrypted vMotion")
struct EncryptionTests {
    @Test("mode negotiation, whole migrations", arguments: [
        ModeCase(source: .disabled, destination: .disabled, cipher: .unencrypted),
        ModeCase(source: .opportunistic, destination: .opportunistic, cipher: .aes256GCM),
        ModeCase(source: .required, destination: .disabled, cipher: nil),
        ModeCase(source: .required, destination: .opportunistic, cipher: .aes256GCM),
        ModeCase(source: .disabled, destination: .required, cipher: nil),
        ModeCase(source: .opportunistic, destination: .disabled, cipher: .unencrypted),
        ModeCase(source: .disabled, destination: .opportunistic, cipher: .unencrypted),
        ModeCase(source: .opportunistic, destination: .required, cipher: .aes256GCM),
        ModeCase(source: .required, destination: .required, cipher: .aes256GCM),
    ])
    func modes(_ mode: ModeCase) throws {
        var pipe = try patternPipe(source: mode.source, destination: mode.destination)
        pipe.run()
        let result = try #require(pipe.result)
        if let cipher = mode.cipher {
            #expect(result.status == .completed, "\(result.error ?? "")")
            #expect(result.verified)
            #expect(result.encryption == cipher)
            #expect(pipe.destination.currentReport.encryption == cipher)
            #expect(memoriesEqual(pipe.vm.memory, pipe.destination.memory))
            // With encryption on, no page of guest memory is readable on the wire; in clear it is.
            #expect(contains(pipe.wireToDestination, guestPattern) == (cipher == .unencrypted))
            let json = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
            #expect(json.contains("\"encryption\":\"\(cipher.rawValue)\""))
        } else {
            #expect(result.status == .failed)
            #expect(result.error?.contains("requires an encrypted migration but encryption is disabled") == true,
                    "\(result.error ?? "")")
            #expect(pipe.sourceActions.contains { $0.isResumeSource })
            #expect(!pipe.destinationActions.contains { $0.isAllocate })
            #expect(pipe.destination.phase == .discarded && pipe.destination.memory == nil)
            #expect(!contains(pipe.wireToDestination, guestPattern))
        }
        // The key never crosses, in any mode.
        #expect(!contains(pipe.wireToDestination, testSecret.bytes) && !contains(pipe.wireToSource, testSecret.bytes))
    }

    @Test("JSON of the modes and ciphers")
    func codable() throws {
        let modes = try JSONEncoder().encode(MigrationEncryptionMode.allCases)
        #expect(String(decoding: modes, as: UTF8.self) == #"["disabled","opportunistic","required"]"#)
        #expect(try JSONDecoder().decode([MigrationEncryptionMode].self, from: modes) == MigrationEncryptionMode.allCases)
        let ciphers = try JSONEncoder().encode(MigrationStreamCipher.allCases)
        #expect(String(decoding: ciphers, as: UTF8.self) == #"["none","aes-256-gcm"]"#)
        #expect(MigrationSourceSettings(migrationID: testID, secret: testSecret).encryption == .opportunistic)
        #expect(MigrationDestinationSettings(migrationID: testID, secret: testSecret, maxMemoryBytes: 1, portGroups: []).encryption == .opportunistic)
    }

    @Test("a source with another key is refused before anything is allocated, the VM stays on the source")
    func wrongKey() throws {
        var pipe = try patternPipe(source: .opportunistic, destination: .opportunistic, secret: otherSecret)
        pipe.run()
        let result = try #require(pipe.result)
        #expect(result.status == .failed)
        #expect(result.error?.contains("authentication failed") == true, "\(result.error ?? "")")
        #expect(pipe.sourceActions.contains { $0.isResumeSource })
        #expect(!pipe.destinationActions.contains { $0.isAllocate })
        #expect(pipe.destinationActions.contains { $0.discardReason?.contains("authentication failed") == true })
        #expect(pipe.destination.memory == nil && pipe.destination.spec == nil)
        #expect(pipe.vm.matchesShadow)
    }

    @Test("a destination with another key cannot prove it: the source stops before sending memory")
    func destinationWrongKey() throws {
        // The destination's hello check fails first; to reach the acceptance check, forge a destination
        // that accepts anything by answering with a code made with the wrong key.
        let memory = try GuestMemory(pageCount: 16)
        var source = MigrationSource(spec: makeSpec(pages: 16), memory: memory,
                                     settings: MigrationSourceSettings(migrationID: testID, secret: testSecret), now: 0)
        _ = source.start(now: 0)
        let forged = SpecAcceptance(id: testID, cipher: .aes256GCM, sourceNonce: testNonce, nonce: testNonce,
                                    spec: makeSpec(pages: 16), key: otherSecret)
        let actions = source.receive(bytes: MigrationEncoder.encode(.specAccepted(forged)), now: 1)
        #expect(actions.contains { $0.isResumeSource })
        #expect(source.phase == .failed && !source.wantsToProduce)
        #expect(source.result(now: 2).error?.contains("does not prove the migration key") == true)
    }

    @Test("a spec altered on the way is caught by the source through the acceptance code")
    func alteredSpec() throws {
        var pipe = try patternPipe(source: .opportunistic, destination: .opportunistic)
        var first = true
        pipe.tamper = { bytes in
            guard first else { return }
            first = false
            // hello (79 bytes), then the spec: its VM name starts after header and length (12 + 2).
            let name = 79 + 14
            #expect(bytes[name] == UInt8(ascii: "w"))
            bytes[name] = UInt8(ascii: "x")
        }
        pipe.run()
        let result = try #require(pipe.result)
        #expect(result.status == .failed)
        #expect(result.error?.contains("altered") == true, "\(result.error ?? "")")
        #expect(pipe.destination.phase == .discarded && pipe.destination.memory == nil)
        #expect(!contains(pipe.wireToDestination, guestPattern))
    }

    @Test("a flipped bit in any sealed record aborts with an authentication error; the VM stays on the source")
    func flippedBit() throws {
        // A clean run gives the source's writes; the seeds make every run send the same sizes.
        var clean = try patternPipe(source: .required, destination: .required)
        clean.run()
        #expect(clean.result?.status == .completed)
        // Write 0 is the clear hello and spec; the last is the commit, sent after the destination runs the VM.
        let writes = clean.sourceWrites
        #expect(writes.count > 4)
        var rng = SplitMix64(seed: 5)
        var tested = 0
        for target in 1..<writes.count - 1 {
            let recordsOfWrite = records(in: writes[target])
            #expect(recordsOfWrite.last.map { $0.offset + 4 + $0.length + 16 } == writes[target].count)
            for record in recordsOfWrite {
                var pipe = try patternPipe(source: .required, destination: .required)
                var index = 0
                let byte = record.offset + 4 + Int.random(in: 0..<record.length + 16, using: &rng)
                let bit = UInt8(1) << UInt8.random(in: 0...7, using: &rng)
                pipe.tamper = { bytes in
                    if index == target { bytes[byte] ^= bit }
                    index += 1
                }
                pipe.run()
                guard let result = pipe.result else {
                    Issue.record("write \(target) of \(writes.count), byte \(byte) of \(writes[target].count): source \(pipe.source.phase), destination \(pipe.destination.phase), last destination actions \(pipe.destinationActions.suffix(3).map { "\($0)".prefix(200) })")
                    continue
                }
                #expect(result.status == .failed, "write \(target), byte \(byte)")
                #expect(result.error?.contains("failed authentication") == true, "\(result.error ?? "")")
                #expect(pipe.sourceActions.contains { $0.isResumeSource })
                #expect(pipe.resumedState == nil)
                #expect(pipe.destinationActions.contains { $0.discardReason?.contains("failed authentication") == true })
                #expect(pipe.destination.phase == .discarded && pipe.destination.memory == nil)
                tested += 1
            }
        }
        #expect(tested >= 4)
    }

    @Test("a sealed write replayed or dropped is rejected")
    func replayAndDrop() throws {
        for drop in [false, true] {
            var pipe = try patternPipe(source: .opportunistic, destination: .opportunistic)
            var index = 0
            pipe.tamper = { bytes in
                index += 1
                guard index == 3 else { return }
                if drop { bytes = [] } else { bytes += bytes }
            }
            pipe.run()
            guard let result = pipe.result else {
                Issue.record("drop \(drop): source \(pipe.source.phase), destination \(pipe.destination.phase), last destination actions \(pipe.destinationActions.suffix(3).map { "\($0)".prefix(200) })")
                continue
            }
            #expect(result.status == .failed)
            #expect(result.error?.contains("failed authentication") == true, "\(result.error ?? "")")
            #expect(pipe.sourceActions.contains { $0.isResumeSource })
            #expect(pipe.destination.phase == .discarded)
        }
    }

    @Test("the destination refuses a second hello for the same migration")
    func secondHello() throws {
        var destination = MigrationDestination(settings: destinationSettings(), now: 0)
        #expect(destination.receive(bytes: hello(), now: 1).isEmpty)
        let actions = destination.receive(bytes: hello(nonce: MigrationNonce.random()), now: 2)
        #expect(actions.contains { $0.discardReason?.contains("a migration id is used once") == true })
        #expect(!actions.contains { $0.isAllocate })
        #expect(destination.phase == .discarded)

        // Also after the spec: still nothing kept.
        destination = MigrationDestination(settings: destinationSettings(), now: 0)
        let first = destination.receive(bytes: hello() + MigrationEncoder.encode(.spec(makeSpec(pages: 16))), now: 1)
        #expect(first.contains { $0.isAllocate })
        _ = destination.memoryAllocationFailed(reason: "test", now: 2)
        #expect(destination.receive(bytes: hello(), now: 3).isEmpty)
    }

    @Test("truncated or garbled hellos are rejected with a reason and nothing allocated")
    func badHellos() {
        let valid = hello() + MigrationEncoder.encode(.spec(makeSpec(pages: 16)))
        // The code made with the right key but over another mode (a downgrade attempt) fails.
        var downgraded = valid
        downgraded[12 + 18] = MigrationEncryptionMode.disabled.wireValue
        var flippedCode = valid
        flippedCode[12 + 40] ^= 1
        var flippedNonce = valid
        flippedNonce[12 + 20] ^= 0x80
        for bytes in [downgraded, flippedCode, flippedNonce] {
            var destination = MigrationDestination(settings: destinationSettings(), now: 0)
            let actions = destination.receive(bytes: bytes, now: 1)
            #expect(actions.contains { $0.discardReason?.contains("authentication failed") == true })
            #expect(!actions.contains { $0.isAllocate })
        }
        // Truncated: waits, then the connection loss discards with nothing created.
        var destination = MigrationDestination(settings: destinationSettings(), now: 0)
        #expect(destination.receive(bytes: valid.prefix(50), now: 1).isEmpty)
        #expect(destination.connectionLost(now: 2).contains { $0.discardReason != nil })
        #expect(destination.memory == nil)
        // Garbage.
        destination = MigrationDestination(settings: destinationSettings(), now: 0)
        let actions = destination.receive(bytes: Array("GET / HTTP/1.1\r\n\r\n".utf8), now: 1)
        #expect(actions.contains { $0.discardReason?.contains("bad magic") == true })
    }

    @Test("the hello and acceptance codes are HMAC-SHA256 over the documented bytes")
    func codes() {
        let authentication = HelloAuthentication(id: testID, encryption: .required, nonce: testNonce, key: testSecret)
        var message = Array("l2motion hello v1".utf8)
        message += [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10]
        message.append(2)
        message += testNonce.bytes
        let expected = Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: testSecret.bytes)))
        #expect(authentication.mac == expected)
        #expect(authentication.isValid(id: testID, key: testSecret))
        #expect(!authentication.isValid(id: testID, key: otherSecret))
        #expect(!authentication.isValid(id: MigrationID(high: 1, low: 1), key: testSecret))
        // The hello on the wire carries the code, never the key.
        let bytes = MigrationEncoder.encode(.hello(id: testID, protocolVersion: UInt16(MigrationWire.version), authentication: authentication))
        #expect(contains(bytes, expected) && !contains(bytes, testSecret.bytes))
    }

    @Test("HKDF gives each direction its own key, and fresh nonces give fresh keys")
    func keys() {
        let keys = SecureChannel.deriveKeys(secret: testSecret, id: testID, sourceNonce: testNonce,
                                            destinationNonce: MigrationNonce(bytes: [UInt8](repeating: 1, count: 16))!)
        #expect(keys.sourceToDestination != keys.destinationToSource)
        #expect(keys.sourceToDestination.bitCount == 256 && keys.destinationToSource.bitCount == 256)
        let again = SecureChannel.deriveKeys(secret: testSecret, id: testID, sourceNonce: testNonce,
                                             destinationNonce: MigrationNonce(bytes: [UInt8](repeating: 1, count: 16))!)
        #expect(again.sourceToDestination == keys.sourceToDestination)
        let fresh = SecureChannel.deriveKeys(secret: testSecret, id: testID, sourceNonce: testNonce,
                                             destinationNonce: MigrationNonce(bytes: [UInt8](repeating: 2, count: 16))!)
        #expect(fresh.sourceToDestination != keys.sourceToDestination)
        let otherID = SecureChannel.deriveKeys(secret: testSecret, id: MigrationID(high: 9, low: 9), sourceNonce: testNonce,
                                               destinationNonce: MigrationNonce(bytes: [UInt8](repeating: 1, count: 16))!)
        #expect(otherID.sourceToDestination != keys.sourceToDestination)
        let otherKey = SecureChannel.deriveKeys(secret: otherSecret, id: testID, sourceNonce: testNonce,
                                                destinationNonce: MigrationNonce(bytes: [UInt8](repeating: 1, count: 16))!)
        #expect(otherKey.sourceToDestination != keys.sourceToDestination)
        #expect(MigrationNonce.random() != MigrationNonce.random())
    }
}

/// A source and a destination channel of one migration.
func channelPair(maxRecordLength: Int = SecureChannel.defaultMaxRecordLength) -> (SecureChannel, SecureChannel) {
    let destinationNonce = MigrationNonce(bytes: [UInt8](repeating: 0x5A, count: 16))!
    return (SecureChannel(secret: testSecret, id: testID, sourceNonce: testNonce, destinationNonce: destinationNonce,
                          role: .source, maxRecordLength: maxRecordLength),
            SecureChannel(secret: testSecret, id: testID, sourceNonce: testNonce, destinationNonce: destinationNonce,
                          role: .destination, maxRecordLength: maxRecordLength))
}

func randomBytes(_ count: Int, _ rng: inout SplitMix64) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { raw in
        var offset = 0
        while offset < count {
            let end = min(count, offset + 8)
            withUnsafeBytes(of: rng.next()) {
                UnsafeMutableRawBufferPointer(rebasing: raw[offset..<end]).copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<end - offset]))
            }
            offset = end
        }
    }
    return bytes
}

@Suite("SecureChannel")
struct SecureChannelTests {
    @Test("records round-trip in both directions through chunks split anywhere")
    func roundTrip() throws {
        var (source, destination) = channelPair(maxRecordLength: 1000)
        var rng = SplitMix64(seed: 8)
        var plain: [UInt8] = []
        var wire: [UInt8] = []
        for _ in 0..<50 {
            let piece = randomBytes(Int.random(in: 0...3000, using: &rng), &rng)
            plain += piece
            try source.seal(piece, into: &wire)
        }
        // Records: at most 1000 plaintext bytes each, 20 bytes of overhead.
        #expect(records(in: wire).allSatisfy { $0.length >= 1 && $0.length <= 1000 })
        #expect(wire.count == plain.count + records(in: wire).count * SecureChannel.recordOverhead)
        #expect(source.sealCounter == UInt64(records(in: wire).count))
        var opened: [UInt8] = []
        var offset = 0
        while offset < wire.count {
            let count = min(Int.random(in: 1...2500, using: &rng), wire.count - offset)
            try destination.open(wire[offset..<offset + count], into: &opened)
            offset += count
        }
        try destination.finish()
        #expect(opened == plain)
        // The other way, with the pointer variant.
        var back: [UInt8] = []
        let reply = randomBytes(5000, &rng)
        try reply.withUnsafeBytes { try destination.seal($0, into: &back) }
        var got: [UInt8] = []
        try source.open(back, into: &got)
        #expect(got == reply)
        // Empty plaintext: no record.
        var none: [UInt8] = []
        try source.seal([], into: &none)
        #expect(none.isEmpty)
    }

    @Test("a channel cannot open its own direction, nor another migration's records")
    func directions() throws {
        var (source, _) = channelPair()
        var wire: [UInt8] = []
        try source.seal([1, 2, 3], into: &wire)
        var (otherSource, _) = channelPair()
        var sink: [UInt8] = []
        #expect(throws: SecureChannelError.authenticationFailed(record: 0)) { try otherSource.open(wire, into: &sink) }
        var stranger = SecureChannel(secret: testSecret, id: testID, sourceNonce: testNonce,
                                     destinationNonce: MigrationNonce(bytes: [UInt8](repeating: 0x5B, count: 16))!,
                                     role: .destination)
        #expect(throws: SecureChannelError.authenticationFailed(record: 0)) { try stranger.open(wire, into: &sink) }
    }

    @Test("a bad tag, a flipped length, a replayed, reordered or dropped record, a truncated stream are typed errors")
    func rejections() throws {
        var (source, _) = channelPair()
        var first: [UInt8] = [], second: [UInt8] = [], third: [UInt8] = []
        try source.seal(Array(repeating: 1, count: 100), into: &first)
        try source.seal(Array(repeating: 2, count: 100), into: &second)
        try source.seal(Array(repeating: 3, count: 100), into: &third)
        func open(_ chunks: [[UInt8]]) -> (SecureChannelError?, [UInt8], SecureChannel) {
            var (_, destination) = channelPair()
            var plain: [UInt8] = []
            do {
                for chunk in chunks { try destination.open(chunk, into: &plain) }
                try destination.finish()
                return (nil, plain, destination)
            } catch {
                return (error, plain, destination)
            }
        }
        #expect(open([first, second, third]).0 == nil)
        // Bad tag / ciphertext.
        var tampered = second
        tampered[tampered.count - 1] ^= 1
        #expect(open([first, tampered]).0 == .authenticationFailed(record: 1))
        tampered = second
        tampered[10] ^= 0x10
        let (error, plain, failed) = open([first, tampered, third])
        #expect(error == .authenticationFailed(record: 1))
        #expect(plain == Array(repeating: 1, count: 100))  // the good record before it stays
        #expect(failed.error == .authenticationFailed(record: 1))
        // Replayed, reordered, dropped.
        #expect(open([first, first]).0 == .authenticationFailed(record: 1))
        #expect(open([second, first]).0 == .authenticationFailed(record: 0))
        #expect(open([first, third]).0 == .authenticationFailed(record: 1))
        // A length over the limit, a zero length, a length changed within the limit.
        #expect(open([[0x7F, 0, 0, 0] + Array(repeating: 0, count: 40)]).0 ==
            .badRecordLength(length: 0x7F00_0000, limit: SecureChannel.defaultMaxRecordLength, record: 0))
        #expect(open([[0, 0, 0, 0]]).0 == .badRecordLength(length: 0, limit: SecureChannel.defaultMaxRecordLength, record: 0))
        var shorter = first
        shorter[3] = 99
        #expect(open([shorter + [0]]).0 == .authenticationFailed(record: 0))
        // Truncated at the end of the stream.
        #expect(open([first, Array(second.dropLast(7))]).0 == .truncatedRecord(bufferedBytes: second.count - 7, record: 1))
        // A failed channel stays failed.
        var (_, destination) = channelPair()
        var sink: [UInt8] = []
        #expect(throws: SecureChannelError.self) { try destination.open(tampered, into: &sink) }
        #expect(throws: SecureChannelError.self) { try destination.open(first, into: &sink) }
        #expect(!SecureChannelError.authenticationFailed(record: 3).description.isEmpty)
    }

    @Test("the nonce is the direction constant and the record counter; the counter never wraps")
    func counterExhaustion() throws {
        let keys = SecureChannel.deriveKeys(secret: testSecret, id: testID, sourceNonce: testNonce, destinationNonce: testNonce)
        var source = SecureChannel(sourceToDestination: keys.sourceToDestination, destinationToSource: keys.destinationToSource,
                                   role: .source, sealCounter: .max - 1)
        var destination = SecureChannel(sourceToDestination: keys.sourceToDestination, destinationToSource: keys.destinationToSource,
                                        role: .destination, openCounter: .max - 1)
        var wire: [UInt8] = []
        // Two records left: a plaintext needing three is refused whole.
        #expect(throws: SecureChannelError.counterExhausted) {
            try source.seal([UInt8](repeating: 0, count: 2 * SecureChannel.defaultMaxRecordLength + 1), into: &wire)
        }
        #expect(wire.isEmpty)
        try source.seal([1], into: &wire)
        try source.seal([2], into: &wire)
        #expect(throws: SecureChannelError.counterExhausted) { try source.seal([3], into: &wire) }
        var plain: [UInt8] = []
        try destination.open(wire, into: &plain)
        #expect(plain == [1, 2])
        // The record sealed under counter 2^64 − 1 opens with exactly that nonce.
        let last = Array(wire[21...])
        let nonce = try AES.GCM.Nonce(data: [0x4C, 0x32, 0x53, 0x44, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        let box = try AES.GCM.SealedBox(nonce: nonce, ciphertext: last[4..<5], tag: last[5...])
        #expect(Array(try AES.GCM.open(box, using: keys.sourceToDestination, authenticating: last[0..<4])) == [2])
    }

    @Test("seal + open throughput (set L2M_BENCH=1; build with -c release)",
          .enabled(if: ProcessInfo.processInfo.environment["L2M_BENCH"] != nil))
    func throughput() throws {
        var (source, destination) = channelPair()
        var rng = SplitMix64(seed: 1)
        let chunk = randomBytes(1 << 20, &rng)
        var wire: [UInt8] = []
        var plain: [UInt8] = []
        let total = 1 << 30
        let clock = ContinuousClock()
        var sealTime = Duration.zero, openTime = Duration.zero
        for _ in 0..<(total / chunk.count) {
            wire.removeAll(keepingCapacity: true)
            plain.removeAll(keepingCapacity: true)
            sealTime += try clock.measure { try source.seal(chunk, into: &wire) }
            openTime += try clock.measure {
                // Received in 64 KiB reads, like a socket.
                var offset = 0
                while offset < wire.count {
                    let end = min(wire.count, offset + 65536)
                    try destination.open(wire[offset..<end], into: &plain)
                    offset = end
                }
            }
            #expect(plain.count == chunk.count)
        }
        func rate(_ duration: Duration) -> Double {
            Double(total) / (Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18) / 1e6
        }
        print("SecureChannel: 1 GiB sealed at \(Int(rate(sealTime))) MB/s, opened at \(Int(rate(openTime))) MB/s, seal+open \(Int(rate(sealTime + openTime))) MB/s")
    }
}
