/// An HTTP/1.x request head parsed from the start of a connection's input (RFC 9112): the request
/// line and the few header fields the service acts on. Lines must end in CRLF; a bare LF is a
/// malformed request (curl and ab send CRLF), and so is obsolete line folding.
struct HTTPRequestHead: Equatable {
    var method: String
    var target: String
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    var minorVersion: Int
    /// Tokens of every `Connection` field, lowercased.
    var connectionTokens: [String] = []
    var contentLength: UInt64?
    var hasTransferEncoding = false
    var hostCount = 0
    /// Bytes of the head, the final empty line included.
    var byteCount = 0

    /// Whether the connection stays open after the reply: HTTP/1.1 unless `Connection: close`,
    /// HTTP/1.0 only with `Connection: Keep-Alive`.
    var keepAlive: Bool {
        if connectionTokens.contains("close") { return false }
        return minorVersion >= 1 || connectionTokens.contains("keep-alive")
    }

    /// Why a head could not be read (each maps to one status; all close the connection).
    enum Failure: Error, Equatable {
        /// Malformed request line, field line or line ending (400).
        case malformed(String)
        /// Not HTTP/1.0 or HTTP/1.1 (505).
        case unsupportedVersion
        /// No end of head within the receive buffer (431).
        case headTooLarge
    }

    enum Parse: Equatable {
        case needMoreInput
        case head(HTTPRequestHead)
        case failure(Failure)
    }

    static func parse(_ input: ArraySlice<UInt8>, limit: Int = TCPServiceLimits.receiveBuffer) -> Parse {
        let start = input.startIndex
        var cursor = start
        var head: HTTPRequestHead?
        while true {
            guard let newline = input[cursor...].firstIndex(of: ServiceBytes.lf) else {
                return input.count >= limit ? .failure(.headTooLarge) : .needMoreInput
            }
            guard newline + 1 - start <= limit else { return .failure(.headTooLarge) }
            guard newline > cursor, input[newline - 1] == ServiceBytes.cr else {
                return .failure(.malformed("a line ends in a bare LF; HTTP lines end in CRLF"))
            }
            let line = input[cursor..<(newline - 1)]
            cursor = newline + 1
            guard var parsed = head else {
                if line.isEmpty { continue } // RFC 9112 §2.2: ignore empty lines before the request line
                switch requestLine(line) {
                case let .success(requestHead): head = requestHead
                case let .failure(failure): return .failure(failure)
                }
                continue
            }
            if line.isEmpty {
                parsed.byteCount = cursor - start
                return .head(parsed)
            }
            if let failure = parsed.field(line) { return .failure(failure) }
            head = parsed
        }
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private static func requestLine(_ line: ArraySlice<UInt8>) -> Result<HTTPRequestHead, Failure> {
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .failure(.malformed("the request line is not `method target version`")) }
        let (method, target, version) = (parts[0], parts[1], parts[2])
        guard !method.isEmpty, method.allSatisfy(isTokenByte) else { return .failure(.malformed("bad method")) }
        guard !target.isEmpty, target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(.malformed("bad request target"))
        }
        let prefix = Array("HTTP/".utf8)
        guard version.count == 8, version.prefix(5).elementsEqual(prefix), ServiceBytes.isDigit(version[version.startIndex + 5]),
              version[version.startIndex + 6] == UInt8(ascii: "."), ServiceBytes.isDigit(version[version.startIndex + 7]) else {
            return .failure(.malformed("bad HTTP version"))
        }
        let major = version[version.startIndex + 5], minor = version[version.startIndex + 7]
        guard major == UInt8(ascii: "1"), minor <= UInt8(ascii: "1") else { return .failure(.unsupportedVersion) }
        return .success(HTTPRequestHead(method: ServiceBytes.text(method), target: ServiceBytes.text(target),
                                        minorVersion: Int(minor - UInt8(ascii: "0"))))
    }

    /// Reads one field line; returns why it is malformed, if it is.
    private mutating func field(_ line: ArraySlice<UInt8>) -> Failure? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return .malformed("a header line has no colon") }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty, name.allSatisfy(Self.isTokenByte) else {
            return .malformed(line.first == 0x20 || line.first == 0x09 ? "obsolete line folding" : "bad header name")
        }
        var value = line[(colon + 1)...]
        while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
        while let last = value.last, last == 0x20 || last == 0x09 { value = value.dropLast() }
        guard value.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
            return .malformed("control character in a header value")
        }
        if ServiceBytes.equalsIgnoringCase(name, "connection") {
            for token in value.split(separator: UInt8(ascii: ",")) {
                let trimmed = token.drop { $0 == 0x20 || $0 == 0x09 }.reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed()
                connectionTokens.append(String(decoding: trimmed.map(ServiceBytes.lowercased), as: UTF8.self))
            }
        } else if ServiceBytes.equalsIgnoringCase(name, "content-length") {
            guard let length = ServiceBytes.unsignedDecimal(value, limit: UInt64(Int64.max)),
                  contentLength == nil || contentLength == length else {
                return .malformed("bad Content-Length")
            }
            contentLength = length
        } else if ServiceBytes.equalsIgnoringCase(name, "transfer-encoding") {
            hasTransferEncoding = true
        } else if ServiceBytes.equalsIgnoringCase(name, "host") {
            hostCount += 1
        }
        return nil
    }
}
