/// The options of a peer's SYN we act on (RFC 9293 3.2, RFC 7323, RFC 2018). Timestamps are
/// recognised but not used: we never offer them, so the peer does not send them afterwards.
struct TCPSynOptions: Equatable {
    var mss: UInt16?
    var windowShift: UInt8?
    var sackPermitted = false
    var timestamps = false

    /// Parses option bytes; a malformed option ends parsing (what came before it stands).
    init(_ bytes: ArraySlice<UInt8>) {
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let kind = bytes[i]
            if kind == 0 { break }
            if kind == 1 { i += 1; continue }
            guard i + 1 < bytes.endIndex else { break }
            let length = Int(bytes[i + 1])
            guard length >= 2, i + length <= bytes.endIndex else { break }
            switch (kind, length) {
            case (2, 4): mss = UInt16(bytes[i + 2]) << 8 | UInt16(bytes[i + 3])
            case (3, 3): windowShift = min(bytes[i + 2], 14) // RFC 7323 2.3: larger shifts mean 14
            case (4, 2): sackPermitted = true
            case (8, 10): timestamps = true
            default: break
            }
            i += length
        }
    }
}
