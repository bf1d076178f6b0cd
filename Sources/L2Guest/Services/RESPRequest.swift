/// One request read from the start of a Redis connection's input: a multi-bulk array
/// (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`, what clients send) or an inline line (`PING\r\n`, telnet).
enum RESPRequest: Equatable {
    /// Not all of the request is here yet.
    case needMoreInput
    /// A command and its arguments, and the input bytes it took.
    case command([ArraySlice<UInt8>], consumed: Int)
    /// An empty line or `*0`: consumed, no reply (Redis does the same).
    case empty(consumed: Int)
    /// Redis's own wording after `-ERR `; the connection closes after the reply.
    case protocolError(String)

    /// Redis's `PROTO_MBULK_BIG_ARG`-style bounds: counts beyond these are not a request.
    static let maximumArguments = 1024 * 1024
    static let maximumBulk = 512 * 1024 * 1024

    static func parse(_ input: ArraySlice<UInt8>, bufferLimit: Int = TCPServiceLimits.receiveBuffer) -> RESPRequest {
        guard let first = input.first else { return .needMoreInput }
        let parsed = first == UInt8(ascii: "*") ? multiBulk(input, bufferLimit: bufferLimit) : inline(input)
        if parsed == .needMoreInput, input.count >= bufferLimit {
            return .protocolError(first == UInt8(ascii: "*")
                ? "Protocol error: request does not fit this VM's \(bufferLimit)-byte receive buffer"
                : "Protocol error: too big inline request")
        }
        return parsed
    }

    private static func multiBulk(_ input: ArraySlice<UInt8>, bufferLimit: Int) -> RESPRequest {
        let start = input.startIndex
        guard let countEnd = ServiceBytes.firstCRLF(in: input, from: start + 1) else { return .needMoreInput }
        guard let count = ServiceBytes.strictInteger(input[(start + 1)..<countEnd]), count <= maximumArguments else {
            return .protocolError("Protocol error: invalid multibulk length")
        }
        var cursor = countEnd + 2
        guard count > 0 else { return .empty(consumed: cursor - start) }
        // Every argument takes at least `$0\r\n\r\n`.
        guard cursor - start + Int(count) * 6 <= bufferLimit else { return tooBig(bufferLimit) }
        var arguments: [ArraySlice<UInt8>] = []
        arguments.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard cursor < input.endIndex else { return .needMoreInput }
            guard input[cursor] == UInt8(ascii: "$") else {
                return .protocolError("Protocol error: expected '$', got '\(Character(Unicode.Scalar(input[cursor])))'")
            }
            guard let lengthEnd = ServiceBytes.firstCRLF(in: input, from: cursor + 1) else { return .needMoreInput }
            guard let length = ServiceBytes.strictInteger(input[(cursor + 1)..<lengthEnd]), length >= 0,
                  length <= maximumBulk else {
                return .protocolError("Protocol error: invalid bulk length")
            }
            let dataStart = lengthEnd + 2
            let dataEnd = dataStart + Int(length)
            guard dataEnd + 2 - start <= bufferLimit else { return tooBig(bufferLimit) }
            guard dataEnd + 2 <= input.endIndex else { return .needMoreInput }
            guard input[dataEnd] == ServiceBytes.cr, input[dataEnd + 1] == ServiceBytes.lf else {
                return .protocolError("Protocol error: bulk string not followed by CRLF")
            }
            arguments.append(input[dataStart..<dataEnd])
            cursor = dataEnd + 2
        }
        return .command(arguments, consumed: cursor - start)
    }

    private static func tooBig(_ limit: Int) -> RESPRequest {
        .protocolError("Protocol error: request does not fit this VM's \(limit)-byte receive buffer")
    }

    private static func inline(_ input: ArraySlice<UInt8>) -> RESPRequest {
        guard let newline = input.firstIndex(of: ServiceBytes.lf) else { return .needMoreInput }
        var lineEnd = newline
        if lineEnd > input.startIndex, input[lineEnd - 1] == ServiceBytes.cr { lineEnd -= 1 }
        let consumed = newline + 1 - input.startIndex
        guard let arguments = splitArguments(input[input.startIndex..<lineEnd]) else {
            return .protocolError("Protocol error: unbalanced quotes in request")
        }
        return arguments.isEmpty ? .empty(consumed: consumed) : .command(arguments.map { $0[...] }, consumed: consumed)
    }

    /// Redis's `sdssplitargs`: words split by blanks; "double quotes" with `\n \r \t \b \a \\ \" \xHH`
    /// escapes and 'single quotes' with `\'`; a closing quote must be followed by a blank or the end.
    static func splitArguments(_ line: ArraySlice<UInt8>) -> [[UInt8]]? {
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0B || byte == 0x0C }
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var words: [[UInt8]] = []
        var index = line.startIndex
        while true {
            while index < line.endIndex, isBlank(line[index]) { index += 1 }
            guard index < line.endIndex else { return words }
            var word: [UInt8] = []
            var inDouble = false, inSingle = false, done = false
            while !done {
                let byte: UInt8? = index < line.endIndex ? line[index] : nil
                if inDouble {
                    guard let byte else { return nil }
                    if byte == UInt8(ascii: "\\"), index + 3 < line.endIndex, line[index + 1] == UInt8(ascii: "x"),
                       let high = hex(line[index + 2]), let low = hex(line[index + 3]) {
                        word.append(high << 4 | low)
                        index += 3
                    } else if byte == UInt8(ascii: "\\"), index + 1 < line.endIndex {
                        index += 1
                        switch line[index] {
                        case UInt8(ascii: "n"): word.append(0x0A)
                        case UInt8(ascii: "r"): word.append(0x0D)
                        case UInt8(ascii: "t"): word.append(0x09)
                        case UInt8(ascii: "b"): word.append(0x08)
                        case UInt8(ascii: "a"): word.append(0x07)
                        default: word.append(line[index])
                        }
                    } else if byte == UInt8(ascii: "\"") {
                        if index + 1 < line.endIndex, !isBlank(line[index + 1]) { return nil }
                        done = true
                    } else {
                        word.append(byte)
                    }
                } else if inSingle {
                    guard let byte else { return nil }
                    if byte == UInt8(ascii: "\\"), index + 1 < line.endIndex, line[index + 1] == UInt8(ascii: "'") {
                        word.append(UInt8(ascii: "'"))
                        index += 1
                    } else if byte == UInt8(ascii: "'") {
                        if index + 1 < line.endIndex, !isBlank(line[index + 1]) { return nil }
                        done = true
                    } else {
                        word.append(byte)
                    }
                } else {
                    switch byte {
                    case nil: done = true
                    case let byte? where isBlank(byte): done = true
                    case UInt8(ascii: "\"")?: inDouble = true
                    case UInt8(ascii: "'")?: inSingle = true
                    case let byte?: word.append(byte)
                    }
                }
                if index < line.endIndex { index += 1 }
            }
            words.append(word)
        }
    }
}
