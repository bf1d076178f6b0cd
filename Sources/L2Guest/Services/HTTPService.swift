/// A small web server on port 80 for `curl` and `ab -k`: HTTP/1.1 keeps the connection open unless
/// `Connection: close`; HTTP/1.0 keeps it open only with `Connection: Keep-Alive` (what `ab -k`
/// sends; the reply then says `Connection: Keep-Alive`). One request per `serve` call, so pipelined
/// requests are answered in order as the stack calls again.
///
/// - `GET /`, `HEAD /`: a text/plain page naming the VM, the host it runs on now, its uptime, the
///   requests answered so far (a counter in guest memory, so it keeps counting across migrations)
///   and its migrations, as `name: value` lines (`vm: web01`, `host: esx01`, `uptime-ms: …1234`,
///   `requests: …17`, `migrations: …1`; fixed width, so every reply of one VM has one length).
/// - `GET /bytes/N` (N ≤ 1 TiB, decimal): `N` bytes of `PatternStream` from offset 0, generated as
///   the send window opens; a bad or too large N is 400.
/// - other paths 404; other methods 405 with `Allow: GET, HEAD`; a request body (Content-Length > 0)
///   413 on GET/HEAD, 405 otherwise, and close; `Transfer-Encoding` 501 and close; a malformed head
///   (bare LF line endings included) or HTTP/1.1 without exactly one Host 400 and close; HTTP/2+ 505
///   and close; no end of head within `TCPServiceLimits.receiveBuffer` 431 and close.
///
/// Replies carry `Server`, `Content-Type`, `Content-Length` and `Connection`; no `Date` (the guest
/// has no wall clock). Every response, errors included, counts as a request.
public struct HTTPService: TCPService {
    public let name = "http"
    public let port: UInt16

    /// The largest `/bytes/N`: 1 TiB.
    public static let maximumDownload: UInt64 = 1 << 40

    public init(port: UInt16 = 80) { self.port = port }

    public func serve(_ input: ArraySlice<UInt8>, store: ServiceStore, context: ServiceContext) -> TCPServiceReply {
        let head: HTTPRequestHead
        switch HTTPRequestHead.parse(input) {
        case .needMoreInput:
            return .needMoreInput
        case let .failure(failure):
            let (status, why): (HTTPStatus, String) = switch failure {
            case let .malformed(reason): (.badRequest, reason)
            case .unsupportedVersion: (.versionNotSupported, "this server speaks HTTP/1.0 and HTTP/1.1")
            case .headTooLarge: (.headerFieldsTooLarge, "no end of the request head within \(TCPServiceLimits.receiveBuffer) bytes")
            }
            store.bump(ServiceStoreLayout.httpRequestsOffset)
            let response = HTTPResponse(status: status, body: Array("\(status.code) \(status.reason): \(why)\n".utf8))
            return reply(response, consumed: input.count, headOnly: false, keepAlive: false, http10: false)
        case let .head(parsed):
            head = parsed
        }
        let requests = store.bump(ServiceStoreLayout.httpRequestsOffset)
        let response = respond(to: head, requests: requests, context: context)
        let headOnly = head.method == "HEAD"
        return reply(response, consumed: head.byteCount, headOnly: headOnly,
                     keepAlive: head.keepAlive && !response.closes, http10: head.minorVersion == 0)
    }

    /// The response to a well-formed head; `requests` counts this one.
    func respond(to head: HTTPRequestHead, requests: UInt64, context: ServiceContext) -> HTTPResponse {
        if head.hasTransferEncoding { return HTTPResponse(status: .notImplemented, closes: true) }
        if head.minorVersion >= 1, head.hostCount != 1 { return HTTPResponse(status: .badRequest, closes: true) }
        let hasBody = (head.contentLength ?? 0) > 0
        guard head.method == "GET" || head.method == "HEAD" else {
            var response = HTTPResponse(status: .methodNotAllowed, closes: hasBody)
            response.extraHeaders = "Allow: GET, HEAD\r\n"
            return response
        }
        if hasBody { return HTTPResponse(status: .contentTooLarge, closes: true) }
        let path = Self.path(of: head.target)
        if path == "/" {
            return HTTPResponse(status: .ok, body: Array(Self.statusPage(requests: requests, context: context).utf8))
        }
        if path.hasPrefix("/bytes/") {
            guard let count = ServiceBytes.unsignedDecimal(Array(path.utf8.dropFirst(7))[...], limit: Self.maximumDownload) else {
                let message = "/bytes/N takes a decimal N of at most \(Self.maximumDownload) (1 TiB)\n"
                return HTTPResponse(status: .badRequest, body: Array(message.utf8), closes: false)
            }
            return HTTPResponse(status: .ok, contentType: "application/octet-stream", body: [], patternCount: count)
        }
        return HTTPResponse(status: .notFound)
    }

    /// The path of an origin-form (`/bytes/5?x`) or absolute-form (`http://10.10.0.10/bytes/5`)
    /// target, without its query.
    static func path(of target: String) -> Substring {
        var path = Substring(target)
        if path.utf8.count >= 7, ServiceBytes.equalsIgnoringCase(path.utf8.prefix(7), "http://") {
            let authorityAndPath = path.dropFirst(7)
            path = authorityAndPath.firstIndex(of: "/").map { authorityAndPath[$0...] } ?? "/"
        }
        return path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
    }

    /// The `GET /` page: a title, then `name: value` lines. Its length is the same for every request
    /// to one VM (the host name padded with spaces to 64, the numbers with zeros to 20 digits), as
    /// `ab` counts a reply of another length as a failed request.
    static func statusPage(requests: UInt64, context: ServiceContext) -> String {
        """
        l2motion VM \(context.vmName)
        vm: \(context.vmName)
        host: \(padded(context.hostName, to: 64))
        uptime-ms: \(zeroPadded(context.uptimeNanoseconds / 1_000_000))
        requests: \(zeroPadded(requests))
        migrations: \(zeroPadded(UInt64(context.migrationCount)))

        """
    }

    static func padded(_ text: String, to width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.utf8.count))
    }

    static func zeroPadded(_ value: UInt64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    private func reply(_ response: HTTPResponse, consumed: Int, headOnly: Bool, keepAlive: Bool, http10: Bool) -> TCPServiceReply {
        let connection = keepAlive ? (http10 ? "Keep-Alive" : "keep-alive") : "close"
        var bytes = response.head(connection: connection)
        var output: [TCPServiceOutput] = []
        if !headOnly {
            bytes += response.body
            if response.patternCount > 0 {
                output = [.bytes(bytes), .pattern(offset: 0, count: response.patternCount)]
            }
        }
        if output.isEmpty { output = [.bytes(bytes)] }
        return TCPServiceReply(consumed: consumed, output: output, close: !keepAlive)
    }
}
