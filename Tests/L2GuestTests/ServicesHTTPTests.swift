import Testing
@testable import L2Guest

@Suite struct ServicesHTTPTests {
    let http = HTTPService()
    static let curlHead = "GET / HTTP/1.1\r\nHost: 10.10.0.10\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
    static let abHead = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: 10.10.0.10\r\nUser-Agent: ApacheBench/2.3\r\nAccept: */*\r\n\r\n"
    static let page = "l2motion VM web01\nvm: web01\nhost: esx01                                                           \nuptime-ms: 00000000000000012345\nrequests: 00000000000000000001\nmigrations: 00000000000000000001\n"

    @Test func curlGetRootGolden() throws {
        let store = try makeServiceStore()
        let reply = http.serve(Self.curlHead, store: store)
        #expect(reply.consumed == Self.curlHead.utf8.count)
        #expect(!reply.close)
        #expect(reply.text == "HTTP/1.1 200 OK\r\nServer: l2motion-vm\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: \(Self.page.utf8.count)\r\nConnection: keep-alive\r\n\r\n" + Self.page)
        #expect(store.httpRequestCount == 1)
    }

    @Test func apacheBenchKeepAliveGolden() throws {
        let store = try makeServiceStore()
        let reply = http.serve(Self.abHead, store: store)
        #expect(reply.consumed == Self.abHead.utf8.count)
        #expect(!reply.close)
        #expect(reply.text == "HTTP/1.1 200 OK\r\nServer: l2motion-vm\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: \(Self.page.utf8.count)\r\nConnection: Keep-Alive\r\n\r\n" + Self.page)
    }

    @Test func http10WithoutKeepAliveCloses() throws {
        let reply = http.serve("GET / HTTP/1.0\r\nHost: x\r\n\r\n", store: try makeServiceStore())
        #expect(reply.close)
        #expect(reply.text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(reply.text.contains("Connection: close\r\n"))
    }

    @Test func connectionCloseClosesAfterTheReply() throws {
        let reply = http.serve("GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n", store: try makeServiceStore())
        #expect(reply.close)
        #expect(reply.text.contains("Connection: close\r\n"))
        #expect(reply.text.hasSuffix("migrations: 00000000000000000001\n"))
    }

    @Test func headHasTheHeadersOfGetAndNoBody() throws {
        let store = try makeServiceStore()
        let reply = http.serve("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", store: store)
        #expect(reply.text == "HTTP/1.1 200 OK\r\nServer: l2motion-vm\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: \(Self.page.utf8.count)\r\nConnection: keep-alive\r\n\r\n")
        #expect(!reply.close)
    }

    @Test func pageShowsTheCurrentHostAndCountsRequests() throws {
        let store = try makeServiceStore()
        for expected in 1...3 {
            #expect(http.serve(Self.curlHead, store: store).text.contains("\nrequests: \(HTTPService.zeroPadded(UInt64(expected)))\n"))
        }
        let moved = ServiceContext(vmName: "web01", hostName: "esx02", uptimeNanoseconds: 99_000_000, migrationCount: 2)
        let text = http.serve(Self.curlHead, store: store, context: moved).text
        #expect(text.contains("\nhost: esx02 "))
        #expect(text.contains("\nmigrations: 00000000000000000002\n"))
        #expect(text.contains("\nuptime-ms: 00000000000000000099\n"))
        #expect(text.contains("\nrequests: 00000000000000000004\n"))
        let first = http.serve(Self.curlHead, store: store).text
        #expect(first.utf8.count == text.utf8.count, "every reply of one VM has one length (ab counts others as failed)")
        #expect(text.contains("\nvm: web01\n"))
    }

    @Test(arguments: 0..<ServicesHTTPTests.abHead.utf8.count)
    func partialRequestWaitsForMoreInput(length: Int) throws {
        let reply = http.serve(serviceInput(Array(Self.abHead.utf8.prefix(length))), store: try makeServiceStore(),
                               context: serviceContext)
        #expect(reply == .needMoreInput)
    }

    @Test func pipelinedRequestsAreServedOneAtATime() throws {
        let store = try makeServiceStore()
        let second = "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"
        let input = Array((Self.curlHead + second + "GET / HT").utf8)
        let first = http.serve(serviceInput(input), store: store, context: serviceContext)
        #expect(first.consumed == Self.curlHead.utf8.count)
        #expect(first.text.hasPrefix("HTTP/1.1 200 OK"))
        let rest = Array(input.dropFirst(first.consumed))
        let next = http.serve(serviceInput(rest), store: store, context: serviceContext)
        #expect(next.consumed == second.utf8.count)
        #expect(next.text.hasPrefix("HTTP/1.1 404 Not Found"))
        #expect(!next.close)
        #expect(http.serve(serviceInput(Array(rest.dropFirst(next.consumed))), store: store, context: serviceContext) == .needMoreInput)
    }

    @Test func bytesServesThePattern() throws {
        let reply = http.serve("GET /bytes/1000 HTTP/1.1\r\nHost: x\r\n\r\n", store: try makeServiceStore())
        #expect(reply.output == [
            .bytes(Array(("HTTP/1.1 200 OK\r\nServer: l2motion-vm\r\nContent-Type: application/octet-stream\r\n"
                + "Content-Length: 1000\r\nConnection: keep-alive\r\n\r\n").utf8)),
            .pattern(offset: 0, count: 1000),
        ])
        #expect(!reply.close)
    }

    @Test func bytesUpToOneTebibyte() throws {
        let reply = http.serve("GET /bytes/1099511627776 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", store: try makeServiceStore())
        #expect(reply.output.last == .pattern(offset: 0, count: 1 << 40))
        #expect(reply.text.contains("Content-Length: 1099511627776\r\nConnection: Keep-Alive\r\n"))
    }

    @Test func bytesZeroAndHeadSendNoPattern() throws {
        let store = try makeServiceStore()
        let zero = http.serve("GET /bytes/0 HTTP/1.1\r\nHost: x\r\n\r\n", store: store)
        #expect(zero.output.count == 1)
        #expect(zero.text.hasSuffix("Content-Length: 0\r\nConnection: keep-alive\r\n\r\n"))
        let head = http.serve("HEAD /bytes/5000 HTTP/1.1\r\nHost: x\r\n\r\n", store: store)
        #expect(head.output.count == 1)
        #expect(head.text.hasSuffix("Content-Length: 5000\r\nConnection: keep-alive\r\n\r\n"))
    }

    @Test(arguments: ["/bytes/", "/bytes/abc", "/bytes/-1", "/bytes/+5", "/bytes/1099511627777",
                      "/bytes/18446744073709551616", "/bytes/99999999999999999999999"])
    func badByteCountIs400(path: String) throws {
        let reply = http.serve("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n", store: try makeServiceStore())
        #expect(reply.text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(!reply.output.contains { if case .pattern = $0 { true } else { false } })
    }

    @Test func unknownPathIs404AndKeepsTheConnection() throws {
        let reply = http.serve("GET /nope?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", store: try makeServiceStore())
        #expect(reply.text == "HTTP/1.1 404 Not Found\r\nServer: l2motion-vm\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: 14\r\nConnection: keep-alive\r\n\r\n404 Not Found\n")
        #expect(!reply.close)
    }

    @Test func queryStringIsIgnoredForTheRoot() throws {
        #expect(http.serve("GET /?a=b HTTP/1.1\r\nHost: x\r\n\r\n", store: try makeServiceStore()).text.hasPrefix("HTTP/1.1 200 OK"))
    }

    @Test func absoluteFormTargetsAreRouted() throws {
        let store = try makeServiceStore()
        #expect(http.serve("GET http://10.10.0.10/bytes/5 HTTP/1.1\r\nHost: 10.10.0.10\r\n\r\n", store: store).output.last
            == .pattern(offset: 0, count: 5))
        #expect(http.serve("GET HTTP://10.10.0.10 HTTP/1.1\r\nHost: 10.10.0.10\r\n\r\n", store: store).text
            .hasPrefix("HTTP/1.1 200 OK"))
        #expect(HTTPService.path(of: "/a?b?c") == "/a")
    }

    @Test func otherMethodsAre405WithAllow() throws {
        let reply = http.serve("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", store: try makeServiceStore())
        #expect(reply.text.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\nServer: l2motion-vm\r\nAllow: GET, HEAD\r\n"))
        #expect(!reply.close)
    }

    @Test func requestBodiesCloseTheConnection() throws {
        let store = try makeServiceStore()
        let post = http.serve("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", store: store)
        #expect(post.text.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
        #expect(post.close)
        let get = http.serve("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", store: store)
        #expect(get.text.hasPrefix("HTTP/1.1 413 Content Too Large\r\n"))
        #expect(get.text.contains("Connection: close\r\n"))
        #expect(get.close)
        let empty = http.serve("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", store: store)
        #expect(empty.text.hasPrefix("HTTP/1.1 200 OK\r\n"))
    }

    @Test func transferEncodingIs501() throws {
        let reply = http.serve("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", store: try makeServiceStore())
        #expect(reply.text.hasPrefix("HTTP/1.1 501 Not Implemented\r\n"))
        #expect(reply.close)
    }

    @Test(arguments: [
        "GET /\r\n\r\n", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
        "GET / HTTQ/1.1\r\nHost: x\r\n\r\n", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", "hello\r\n",
        "GET / HTTP/1.1\nHost: x\n\n", "GET / HTTP/1.1\r\nHost: x\n\r\n", "GET / HTTP/1.1\r\nHost x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "GET /\u{1} HTTP/1.1\r\n",
    ])
    func malformedRequestIs400AndCloses(request: String) throws {
        let reply = http.serve(request, store: try makeServiceStore())
        #expect(reply.text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(reply.text.contains("Connection: close\r\n"))
        #expect(reply.close)
        #expect(reply.consumed > 0)
    }

    @Test func bareLineFeedIsExplainedInThe400() throws {
        let reply = http.serve("GET / HTTP/1.1\nHost: x\n\n", store: try makeServiceStore())
        #expect(reply.text.hasSuffix("\r\n\r\n400 Bad Request: a line ends in a bare LF; HTTP lines end in CRLF\n"))
    }

    @Test func otherHTTPVersionsAre505() throws {
        let reply = http.serve("GET / HTTP/2.0\r\nHost: x\r\n\r\n", store: try makeServiceStore())
        #expect(reply.text.hasPrefix("HTTP/1.1 505 HTTP Version Not Supported\r\n"))
        #expect(reply.close)
    }

    @Test func headLargerThanTheReceiveBufferIs431() throws {
        let store = try makeServiceStore()
        let start = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "
        let full = start + String(repeating: "a", count: TCPServiceLimits.receiveBuffer - start.utf8.count)
        let reply = http.serve(full, store: store)
        #expect(reply.text.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"))
        #expect(reply.text.hasSuffix("\r\n\r\n431 Request Header Fields Too Large: no end of the request head within 16384 bytes\n"))
        #expect(reply.close)
        #expect(reply.consumed == TCPServiceLimits.receiveBuffer)
        // One byte short of the limit still waits.
        #expect(http.serve(String(full.dropLast()), store: store) == .needMoreInput)
    }

    @Test func emptyLinesBeforeTheRequestLineAreSkipped() throws {
        let reply = http.serve("\r\n" + Self.curlHead, store: try makeServiceStore())
        #expect(reply.consumed == Self.curlHead.utf8.count + 2)
        #expect(reply.text.hasPrefix("HTTP/1.1 200 OK"))
    }
}
