import Foundation

/// The first line a client sends to a machine relay, before its request: `{"relay":"host-esx02"}`.
/// The relay reads at most `maximumBytes` of it, connects to the daemon it names and from then on
/// only copies bytes, so the daemon sees the request line as if the client had connected directly.
public enum RelayLine {
    /// The longest first line a relay reads (newline included); a target is at most 39 bytes.
    public static let maximumBytes = 256

    /// `{"relay":"<target>"}` followed by its newline.
    public static func encode(target: String) -> [UInt8] {
        let body = (try? ControlJSON.encoder.encode(["relay": target])) ?? Data()
        return [UInt8](body) + [UInt8(ascii: "\n")]
    }

    /// The target a first line (without its newline) names; a line that is not one JSON object with
    /// one string member `relay`, or whose target is not a daemon name, is a `bad-request` error.
    public static func decode(_ line: some Collection<UInt8>) throws(ControlError) -> RelayTarget {
        let example = "{\"relay\":\"host-esx02\"} or {\"relay\":\"switch-pswitch\"}"
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
              object.count == 1, let target = object["relay"] as? String else {
            throw ControlError(.badRequest, "the first line must name the daemon to relay to, like \(example)")
        }
        return try RelayTarget(parsing: target)
    }
}
