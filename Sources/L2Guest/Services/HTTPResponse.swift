/// The statuses `HTTPService` answers with.
struct HTTPStatus: Equatable {
    let code: Int
    let reason: String

    static let ok = HTTPStatus(code: 200, reason: "OK")
    static let badRequest = HTTPStatus(code: 400, reason: "Bad Request")
    static let notFound = HTTPStatus(code: 404, reason: "Not Found")
    static let methodNotAllowed = HTTPStatus(code: 405, reason: "Method Not Allowed")
    static let contentTooLarge = HTTPStatus(code: 413, reason: "Content Too Large")
    static let headerFieldsTooLarge = HTTPStatus(code: 431, reason: "Request Header Fields Too Large")
    static let notImplemented = HTTPStatus(code: 501, reason: "Not Implemented")
    static let versionNotSupported = HTTPStatus(code: 505, reason: "HTTP Version Not Supported")

    /// Errors that leave the connection in an unknown state close it.
    var closesConnection: Bool { [400, 413, 431, 501, 505].contains(code) }
}

/// One response before encoding: a literal body, or `patternCount` bytes of `PatternStream`.
struct HTTPResponse: Equatable {
    var status: HTTPStatus
    var contentType = "text/plain; charset=utf-8"
    var body: [UInt8]
    var patternCount: UInt64 = 0
    var extraHeaders = ""
    var closes: Bool

    init(status: HTTPStatus, contentType: String = "text/plain; charset=utf-8", body: [UInt8]? = nil,
         patternCount: UInt64 = 0, closes: Bool? = nil) {
        self.status = status
        self.contentType = contentType
        self.body = body ?? Array("\(status.code) \(status.reason)\n".utf8)
        self.patternCount = patternCount
        self.closes = closes ?? status.closesConnection
    }

    func head(connection: String) -> [UInt8] {
        let length = UInt64(body.count) + patternCount
        return Array(("HTTP/1.1 \(status.code) \(status.reason)\r\nServer: l2motion-vm\r\n\(extraHeaders)"
            + "Content-Type: \(contentType)\r\nContent-Length: \(length)\r\nConnection: \(connection)\r\n\r\n").utf8)
    }
}
