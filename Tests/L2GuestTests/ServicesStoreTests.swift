import Testing
import L2Wire
@testable import L2Guest

@Suite struct ServicesStoreTests {
    /// Copies every page of `source` into a new guest the way a migration destination does.
    func migrate(_ source: GuestMemory) throws -> GuestMemory {
        let destination = try GuestMemory(pageCount: source.pageCount)
        for page in 0..<source.pageCount where !source.isZeroPage(page) {
            source.withPage(page) { destination.storePage(page, from: $0) }
        }
        return destination
    }

    @Test func storeAndCounterSurviveAPageByPageCopy() throws {
        let store = try makeServiceStore()
        let redis = RedisService(), http = HTTPService()
        for index in 0..<500 {
            #expect(redis.serve(resp("SET", "user:\(index)", "value-\(index)"), store: store).text == "+OK\r\n")
        }
        for index in stride(from: 0, to: 500, by: 3) { _ = redis.serve(resp("DEL", "user:\(index)"), store: store) }
        _ = redis.serve(resp("INCR", "hits"), store: store)
        for _ in 0..<5 { _ = http.serve("GET / HTTP/1.1\r\nHost: x\r\n\r\n", store: store) }

        let copy = ServiceStore(memory: try migrate(store.memory), bytes: store.bytes)
        let onEsx02 = ServiceContext(vmName: "web01", hostName: "esx02", uptimeNanoseconds: 20_000_000_000, migrationCount: 2)
        let page = http.serve("GET / HTTP/1.1\r\nHost: x\r\n\r\n", store: copy, context: onEsx02).text
        #expect(page.contains("\nrequests: 00000000000000000006\n"))
        #expect(page.contains("\nhost: esx02 "))
        #expect(page.contains("\nmigrations: 00000000000000000002\n"))
        for index in 0..<500 {
            let expected = index % 3 == 0 ? "$-1\r\n" : "$\("value-\(index)".utf8.count)\r\nvalue-\(index)\r\n"
            #expect(redis.serve(resp("GET", "user:\(index)"), store: copy).text == expected)
        }
        #expect(redis.serve(resp("INCR", "hits"), store: copy).text == ":2\r\n")
        #expect(redis.serve(resp("DBSIZE"), store: copy).text == ":\(500 - 167 + 1)\r\n")
        // The source is unchanged by the destination's writes.
        #expect(store.httpRequestCount == 5)
    }

    @Test func servicesWriteOnlyTheStoreAndMarkItDirty() throws {
        let store = try makeServiceStore()
        _ = store.memory.dirty.takeAll()
        _ = RedisService().serve(resp("SET", "a", "b"), store: store)
        _ = HTTPService().serve("GET / HTTP/1.1\r\nHost: x\r\n\r\n", store: store)
        let dirty = store.memory.dirty.takeAll()
        let storePages = (store.bytes.lowerBound / GuestMemory.pageSize)..<(store.bytes.upperBound / GuestMemory.pageSize)
        #expect(!dirty.isEmpty)
        #expect(dirty.allSatisfy { storePages.contains($0) })
        #expect(dirty.contains(storePages.lowerBound)) // the counters page
    }

    @Test func storeFitsTheLayout() throws {
        #expect(KeyValueTable.entryBytes == 584)
        #expect(KeyValueTable.entriesPerPage == 7)
        #expect(KeyValueTable.entryBytes % 8 == 0)
        let store = try makeServiceStore()
        #expect(store.bytes.count == GuestLayout.servicePages * GuestMemory.pageSize)
        #expect(KeyValueTable(store: store).maximumLive == 1_338)
    }

    @Test func echoReturnsInputUpToTheReplyLimit() throws {
        let store = try makeServiceStore()
        let echo = EchoService()
        #expect(echo.serve(serviceInput([]), store: store, context: serviceContext) == .needMoreInput)
        let reply = echo.serve("hello\r\n", store: store)
        #expect(reply == TCPServiceReply(consumed: 7, output: [.bytes(Array("hello\r\n".utf8))]))
        let big = (0..<(TCPServiceLimits.maximumReply + 100)).map { UInt8(truncatingIfNeeded: $0) }
        let first = echo.serve(serviceInput(big), store: store, context: serviceContext)
        #expect(first.consumed == TCPServiceLimits.maximumReply)
        #expect(first.output == [.bytes(Array(big.prefix(TCPServiceLimits.maximumReply)))])
        #expect(store.echoByteCount == UInt64(7 + TCPServiceLimits.maximumReply))
    }

    @Test func servicesByWorkload() {
        func ports(_ preset: String?) -> [UInt16] { VMServices.services(forWorkload: preset).map(\.port) }
        #expect(ports(nil) == [7])
        #expect(ports("idle") == [7])
        #expect(ports("web") == [7, 80])
        #expect(ports("web+custom") == [7, 80])
        #expect(ports("db") == [7, 80, 6379])
        #expect(VMServices.services(forWorkload: "db").map(\.name) == ["echo", "http", "redis"])
    }

    @Test func patternStreamKnownValues() {
        // SplitMix64 from state 0: 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F (checked in Python).
        #expect(PatternStream.word(at: 0) == 0xE220_A839_7B1D_CDAF)
        #expect(PatternStream.word(at: 15) == 0x6E78_9E6A_A1B9_65F4)
        #expect(PatternStream.bytes(from: 0, count: 9) == [0xAF, 0xCD, 0x1D, 0x7B, 0x39, 0xA8, 0x20, 0xE2, 0xF4])
        #expect(PatternStream.byte(at: 16) == 0x4F)
        #expect(PatternStream.word(at: 8000) == 0x2CFA_2F23_4253_29E1)
        #expect(PatternStream.byte(at: 1003) == 0x4E)
    }

    @Test(arguments: [0, 1, 7, 8, 13, 4093, (1 << 40) - 5])
    func patternFillEqualsByteAt(offset: UInt64) {
        let bytes = PatternStream.bytes(from: offset, count: 37)
        #expect(bytes == (0..<37).map { PatternStream.byte(at: offset + UInt64($0)) })
    }
}
