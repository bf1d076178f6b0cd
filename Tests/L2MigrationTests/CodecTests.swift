import L2Guest
import L2Wire
import Testing
@testable import L2Migration

func decodeAll(_ bytes: [UInt8], pageCount: Int? = 16) throws(MigrationProtocolError) -> [MigrationMessage] {
    var decoder = MigrationDecoder(pageCount: pageCount)
    decoder.append(bytes)
    var messages: [MigrationMessage] = []
    while let message = try decoder.next() { messages.append(message) }
    return messages
}

func decodeError(_ bytes: [UInt8], pageCount: Int? = 16) -> MigrationProtocolError? {
    do {
        _ = try decodeAll(bytes, pageCount: pageCount)
        return nil
    } catch {
        return error
    }
}

/// A page batch for round 1 with the given records (nil contents = zero page).
func batchBytes(round: UInt32 = 1, _ records: [(UInt64, [UInt8]?)]) -> [UInt8] {
    var payload: [UInt8] = []
    payload.appendBigEndian(round)
    payload.appendBigEndian(UInt32(records.count))
    for (index, contents) in records {
        payload.appendBigEndian(index)
        payload.append(contents == nil ? 0 : 1)
        if let contents { payload += contents }
    }
    return header(.pageBatch, length: payload.count) + payload
}

func header(_ type: MigrationMessageType, length: Int, magic: UInt32 = MigrationWire.magic, version: UInt8 = MigrationWire.version,
            flags: UInt16 = 0) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.appendBigEndian(magic)
    bytes.append(version)
    bytes.append(type.rawValue)
    bytes.appendBigEndian(flags)
    bytes.appendBigEndian(UInt32(length))
    return bytes
}

let samplePage: [UInt8] = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 5) }

let sampleMessages: [MigrationMessage] = [
    .hello(id: testID, protocolVersion: UInt16(MigrationWire.version),
           authentication: HelloAuthentication(id: testID, encryption: .required, nonce: testNonce, key: testSecret)),
    .spec(makeSpec(pages: 16)),
    .specAccepted(SpecAcceptance(id: testID, cipher: .aes256GCM, sourceNonce: testNonce, nonce: testNonce,
                                 spec: makeSpec(pages: 16), key: testSecret)),
    .specAccepted(SpecAcceptance(cipher: .unencrypted, nonce: testNonce, mac: [UInt8](repeating: 7, count: 32))),
    .specRejected(reason: "port group \"production\" not found — ü"),
    .roundEnd(round: 3, pages: 17, bytes: 70_000),
    .switchover(SwitchoverState(finalRound: 4, vcpuState: [1, 2], workloadState: [], queuedFrames: [[1], [2, 3, 4]],
                                pageCount: 16, memoryDigest: 0xDEAD_BEEF)),
    .verified(digest: 42),
    .verifyFailed(reason: "digest"),
    .resumed(atNanoseconds: 1_700_000_000_123_456_789, arrivedAtNanoseconds: 1_700_000_000_100_000_000,
             verifiedAtNanoseconds: 1_700_000_000_120_000_000),
    .switchoverQuery,
    .switchoverReady(detail: "port group \"Production\" attached, uplink vmnic0 up"),
    .switchoverRefused(reason: "uplink vmnic0 of esx02 has no carrier"),
    .forwardedFrame([0xff, 0xff, 0, 1]),
    .commit,
    .abort(reason: "bye"),
]

@Suite("Codec")
struct CodecTests {
    @Test("golden bytes of a resumed message")
    func golden() throws {
        let message = MigrationMessage.resumed(atNanoseconds: 0x0102_0304_0506_0708, arrivedAtNanoseconds: 0x1112_1314_1516_1718,
                                               verifiedAtNanoseconds: 0x2122_2324_2526_2728)
        let bytes = MigrationEncoder.encode(message)
        #expect(bytes == [0x4C, 0x32, 0x4D, 0x56, 4, 10, 0, 0, 0, 0, 0, 24, 1, 2, 3, 4, 5, 6, 7, 8,
                          0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28])
        #expect(try decodeAll(bytes) == [message])
    }

    @Test("every message type round-trips, also from a slice not starting at 0", arguments: sampleMessages.indices)
    func roundTrip(index: Int) throws {
        let message = sampleMessages[index]
        let bytes = MigrationEncoder.encode(message)
        #expect(try decodeAll(bytes) == [message])
        let padded = [0xEE, 0xEE, 0xEE] + bytes
        var decoder = MigrationDecoder(pageCount: 16)
        decoder.append(padded[3...])
        #expect(try decoder.next() == message)
        #expect(try decoder.next() == nil)
    }

    @Test("a page batch written from guest memory decodes to the same pages and hashes")
    func pageBatchFromMemory() throws {
        let memory = try GuestMemory(pageCount: 16)
        samplePage.withUnsafeBytes { memory.write(at: 3 * 4096, bytes: $0) }
        var buffer: [UInt8] = [7, 7]
        var writer = PageBatchWriter()
        writer.begin(round: 2, in: &buffer)
        writer.appendZero(page: 5, in: &buffer)
        let hash = writer.appendPage(page: 3, contents: memory.pointer(toPage: 3), in: &buffer)
        writer.finish(in: &buffer)
        #expect(hash == memory.pageHash(3))
        #expect(buffer.count == 2 + 12 + 8 + 9 + 9 + 4096)
        let messages = try decodeAll(Array(buffer.dropFirst(2)))
        guard case let .pageBatch(batch) = messages.first else { Issue.record("not a batch"); return }
        #expect(batch.round == 2 && batch.count == 2 && batch.normalCount == 1)
        var seen: [(Int, [UInt8]?)] = []
        batch.forEachPage { index, contents in seen.append((index, contents.map(Array.init))) }
        #expect(seen.count == 2)
        #expect(seen[0].0 == 5 && seen[0].1 == nil)
        #expect(seen[1].0 == 3 && seen[1].1 == samplePage)
        // Re-encoding the decoded batch gives the same bytes.
        #expect(MigrationEncoder.encode(.pageBatch(batch)) == Array(buffer.dropFirst(2)))
    }

    @Test("a zero page costs 9 bytes, a normal page 4105")
    func recordSizes() {
        #expect(batchBytes([(1, nil)]).count == 12 + 8 + 9)
        #expect(batchBytes([(1, samplePage)]).count == 12 + 8 + 9 + 4096)
    }

    @Test("a run of zero pages is one 17-byte record; a run of one is a 9-byte zero record")
    func zeroRangeRecord() throws {
        var buffer: [UInt8] = []
        var writer = PageBatchWriter()
        writer.begin(round: 1, in: &buffer)
        writer.appendZero(pages: 3..<103, in: &buffer)
        writer.appendZero(pages: 120..<121, in: &buffer)
        writer.finish(in: &buffer)
        #expect(buffer.count == 12 + 8 + 17 + 9)
        let messages = try decodeAll(buffer, pageCount: 128)
        guard case let .pageBatch(batch) = messages.first else { Issue.record("not a batch"); return }
        #expect(batch.count == 2 && batch.pageCount == 101 && batch.normalCount == 0)
        var ranges: [Range<Int>] = []
        batch.forEachRecord { record in
            guard case let .zero(pages) = record else { Issue.record("a page record in a zero batch"); return }
            ranges.append(pages)
        }
        #expect(ranges == [3..<103, 120..<121])
        var pages: [Int] = []
        batch.forEachPage { index, contents in
            #expect(contents == nil)
            pages.append(index)
        }
        #expect(pages == Array(3..<103) + [120])
        #expect(MigrationEncoder.encode(.pageBatch(batch)) == buffer)
    }

    @Test("a zero range that is empty or runs past the end of memory is rejected", arguments: [
        (UInt64(3), UInt64(0)), (UInt64(10), UInt64(7)), (UInt64(15), UInt64.max), (UInt64(0), UInt64(17)),
    ])
    func badZeroRange(start: UInt64, length: UInt64) {
        var payload: [UInt8] = []
        payload.appendBigEndian(UInt32(1))
        payload.appendBigEndian(UInt32(1))
        payload.appendBigEndian(start)
        payload.append(2)
        payload.appendBigEndian(length)
        let error = decodeError(header(.pageBatch, length: payload.count) + payload, pageCount: 16)
        #expect(error == .malformedPayload(type: .pageBatch,
                                           detail: "a zero range of \(length) pages from page \(start) does not fit the 16 pages of memory"))
        // The same range inside memory decodes.
        var fitting: [UInt8] = []
        fitting.appendBigEndian(UInt32(1))
        fitting.appendBigEndian(UInt32(1))
        fitting.appendBigEndian(UInt64(0))
        fitting.append(2)
        fitting.appendBigEndian(UInt64(16))
        #expect(decodeError(header(.pageBatch, length: fitting.count) + fitting, pageCount: 16) == nil)
    }

    @Test("messages split at every byte boundary decode the same")
    func everySplit() throws {
        let stream = sampleMessages.flatMap(MigrationEncoder.encode) + batchBytes([(2, samplePage), (3, nil)])
        let expected = try decodeAll(stream)
        for split in stride(from: 0, through: stream.count, by: 7) {
            var decoder = MigrationDecoder(pageCount: 16)
            var got: [MigrationMessage] = []
            decoder.append(stream[..<split])
            while let message = try decoder.next() { got.append(message) }
            decoder.append(stream[split...])
            while let message = try decoder.next() { got.append(message) }
            #expect(got == expected)
        }
    }

    @Test("bad magic is rejected as soon as 4 bytes arrive")
    func badMagic() {
        var decoder = MigrationDecoder()
        decoder.append([0x47, 0x45, 0x54, 0x20])  // "GET "
        #expect(throws: MigrationProtocolError.badMagic(found: 0x4745_5420)) { try decoder.next() }
        #expect(throws: MigrationProtocolError.self) { try decoder.next() }
        #expect(decodeError(header(.commit, length: 0, magic: 0x4C32_4D57)) == .badMagic(found: 0x4C32_4D57))
    }

    @Test("malformed headers are rejected with typed errors")
    func badHeaders() {
        #expect(decodeError(header(.commit, length: 0, version: 1)) == .unsupportedVersion(found: 1, supported: 4),
                "a host of version 1 (no zero ranges) is refused at the first header")
        #expect(decodeError(header(.commit, length: 0, version: 2)) == .unsupportedVersion(found: 2, supported: 4),
                "a host of version 2 (no switchover-ack) is refused at the first header")
        #expect(decodeError(header(.commit, length: 0, version: 3)) == .unsupportedVersion(found: 3, supported: 4),
                "a host of version 3 (no post-copy) is refused at the first header")
        #expect(decodeError(header(.commit, length: 0, version: 5)) == .unsupportedVersion(found: 5, supported: 4))
        #expect(decodeError(header(MigrationMessageType(rawValue: 99), length: 0)) == .unknownMessageType(99))
        #expect(decodeError(header(MigrationMessageType(rawValue: 0), length: 0)) == .unknownMessageType(0))
        #expect(decodeError(header(.commit, length: 0, flags: 0x8000)) == .unknownFlags(0x8000, type: .commit))
        #expect(decodeError(header(.pageBatch, length: 0x7FFF_FFFF)) ==
            .payloadTooLarge(length: 0x7FFF_FFFF, limit: MigrationWire.defaultMaxPayloadLength, type: .pageBatch))
        let description = MigrationProtocolError.unsupportedVersion(found: 1, supported: 2).description
        #expect(description.contains("version 1") && description.contains("version 2") && description.contains("same l2motion build"))
    }

    @Test("malformed page batches are rejected")
    func badPageBatches() {
        #expect(decodeError(batchBytes([(16, nil)])) == .pageIndexOutOfRange(index: 16, pageCount: 16))
        #expect(decodeError(batchBytes([(UInt64.max, samplePage)])) == .pageIndexOutOfRange(index: .max, pageCount: 16))
        #expect(decodeError(batchBytes([(1, nil)]), pageCount: nil) == .pageBatchWithoutMemory)
        // Unknown kind.
        var unknownKind = batchBytes([(1, nil)])
        unknownKind[unknownKind.count - 1] = 7
        #expect(decodeError(unknownKind) == .unknownPageKind(7, index: 1))
        // Truncated record: a normal page with only 100 bytes of contents.
        var truncated = batchBytes([(1, samplePage)])
        truncated.removeLast(3996)
        truncated.replaceSubrange(8..<12, with: [0, 0, 0, UInt8(8 + 9 + 100)])
        if case .malformedPayload(.pageBatch, let detail)? = decodeError(truncated) {
            #expect(detail.contains("truncated"))
        } else {
            Issue.record("truncated record accepted: \(String(describing: decodeError(truncated)))")
        }
        // A count larger than the records present.
        var lying = batchBytes([(1, nil)])
        lying[12 + 7] = 200
        #expect(decodeError(lying) != nil)
        // Trailing garbage after the records.
        var trailing = batchBytes([(1, nil)]) + [0]
        trailing[11] += 1
        #expect(decodeError(trailing) == .malformedPayload(type: .pageBatch, detail: "1 unexpected trailing bytes"))
    }

    @Test("malformed payloads of the small messages are rejected")
    func badPayloads() {
        // Truncated hello (authentication code cut short).
        let helloBytes = hello()
        #expect(helloBytes.count == 12 + 67)
        var short = Array(helloBytes.dropLast(5))
        short[11] -= 5
        #expect(decodeError(short) == .malformedPayload(type: .hello, detail: "truncated authentication code: needs 32 bytes, 27 left"))
        // Unknown encryption mode.
        var mode = helloBytes
        mode[12 + 18] = 9
        #expect(decodeError(mode) == .malformedPayload(type: .hello, detail: "unknown encryption mode 9 (0 disabled, 1 opportunistic, 2 required)"))
        // Commit with a payload.
        #expect(decodeError(header(.commit, length: 1) + [0]) ==
            .malformedPayload(type: .commit, detail: "1 unexpected trailing bytes"))
        // Invalid UTF-8 in a reason.
        #expect(decodeError(header(.abort, length: 4) + [0, 2, 0xC3, 0x28]) ==
            .malformedPayload(type: .abort, detail: "reason is not valid UTF-8"))
        // A string length past the payload.
        #expect(decodeError(header(.abort, length: 2) + [0, 9]) != nil)
        // Empty forwarded frame.
        #expect(decodeError(header(.forwardedFrame, length: 0)) != nil)
        // Switchover claiming a billion queued frames.
        var switchover: [UInt8] = []
        switchover.appendBigEndian(UInt32(1))
        switchover.appendBigEndian(UInt32(0))
        switchover.appendBigEndian(UInt32(0))
        switchover.appendBigEndian(UInt32(1_000_000_000))
        #expect(decodeError(header(.switchover, length: switchover.count) + switchover) != nil)
    }

    @Test("an incomplete message waits for more bytes instead of failing")
    func incompleteWaits() throws {
        let bytes = MigrationEncoder.encode(.abort(reason: "x"))
        var decoder = MigrationDecoder()
        for byte in bytes.dropLast() {
            decoder.append([byte])
            #expect(try decoder.next() == nil)
        }
        decoder.append([bytes.last!])
        #expect(try decoder.next() == .abort(reason: "x"))
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test("ids and secrets")
    func idsAndSecrets() {
        #expect(testID.description == "01234567-89ab-cdef-fedc-ba9876543210")
        #expect(MigrationID(testID.description) == testID)
        #expect(MigrationID("xyz") == nil)
        #expect(MigrationSecret(bytes: [1, 2, 3]) == nil)
        #expect(testSecret.bytes == (0..<32).map { UInt8($0 &* 7 &+ 1) })
        #expect(testSecret != otherSecret)
        #expect(!testSecret.description.contains("1"))
    }
}
