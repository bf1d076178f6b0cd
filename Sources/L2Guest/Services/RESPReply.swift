/// RESP2 replies (the Redis wire format): builders for the five reply types.
enum RESPReply {
    static func simple(_ text: String) -> [UInt8] { Array("+\(text)\r\n".utf8) }

    /// An error line; CR and LF in the text become spaces, as Redis does.
    static func error(_ text: String) -> [UInt8] {
        [UInt8(ascii: "-")] + text.utf8.map { $0 == ServiceBytes.cr || $0 == ServiceBytes.lf ? UInt8(ascii: " ") : $0 }
            + ServiceBytes.crlf
    }

    static func integer(_ value: Int64) -> [UInt8] { Array(":\(value)\r\n".utf8) }

    /// A bulk string, or the null bulk string `$-1` for nil.
    static func bulk(_ bytes: some Collection<UInt8>) -> [UInt8] {
        Array("$\(bytes.count)\r\n".utf8) + bytes + ServiceBytes.crlf
    }

    static let null: [UInt8] = Array("$-1\r\n".utf8)

    static func array(_ elements: [[UInt8]]) -> [UInt8] {
        Array("*\(elements.count)\r\n".utf8) + elements.joined()
    }

    static let ok = simple("OK")
}
