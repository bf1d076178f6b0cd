import Foundation

/// A daemon's answer, one JSON line: `{"ok":true,"result":...}` or
/// `{"ok":false,"code":"not-found","error":"..."}`. The result is the reply value itself, so the JSON a
/// client receives is exactly what `--json` prints.
public enum ControlReply: Sendable {
    case success(json: Data)
    case failure(ControlError)

    /// Encodes `value` as the result.
    public static func result<T: Encodable>(_ value: T) -> ControlReply {
        do {
            return .success(json: try ControlJSON.encoder.encode(value))
        } catch {
            return .failure(ControlError(.failed, "could not encode the reply: \(error)"))
        }
    }

    public static let done = ControlReply.success(json: Data("{}".utf8))

    /// The reply as one line of JSON without the newline.
    public var line: Data {
        switch self {
        case let .success(json):
            var data = Data("{\"ok\":true,\"result\":".utf8)
            data.append(json)
            data.append(Data("}".utf8))
            return data
        case let .failure(error):
            let body = ErrorBody(ok: false, code: error.code, error: error.message)
            return (try? ControlJSON.encoder.encode(body)) ?? Data("{\"ok\":false}".utf8)
        }
    }

    private struct ErrorBody: Encodable {
        let ok: Bool
        let code: ControlErrorCode
        let error: String
    }
}

/// A reply decoded on the client side.
public struct ControlEnvelope<Result: Decodable>: Decodable {
    public let ok: Bool
    public let code: ControlErrorCode?
    public let error: String?
    public let result: Result?
}

/// The JSON settings every control message uses (sorted keys, so replies are stable to read and diff).
public enum ControlJSON {
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static var prettyEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return encoder
    }

    public static var decoder: JSONDecoder { JSONDecoder() }
}

/// An empty result, for commands that only act.
public struct Nothing: Codable, Sendable, Equatable {
    public init() {}
}
