import Foundation

/// One request on a daemon's control socket: a command name and string arguments, sent as one
/// JSON line, e.g. `{"command":"mac-table","arguments":{}}`.
public struct ControlRequest: Codable, Sendable, Equatable {
    public var command: String
    public var arguments: [String: String]

    public init(_ command: String, _ arguments: [String: String] = [:]) {
        self.command = command
        self.arguments = arguments
    }
}

/// A daemon's answer: `{"ok":true,"result":...}` or `{"ok":false,"error":"..."}` on one line.
public enum ControlReply: Sendable {
    case success(json: Data)
    case failure(String)

    /// Encodes `value` as the result.
    public static func result<T: Encodable>(_ value: T) -> ControlReply {
        do {
            return .success(json: try ControlJSON.encoder.encode(value))
        } catch {
            return .failure("could not encode the reply: \(error)")
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
        case let .failure(message):
            let body = (try? ControlJSON.encoder.encode(ErrorBody(ok: false, error: message))) ?? Data("{\"ok\":false}".utf8)
            return body
        }
    }

    private struct ErrorBody: Encodable {
        let ok: Bool
        let error: String
    }
}

/// A reply decoded on the client side.
public struct ControlEnvelope<Result: Decodable>: Decodable {
    public let ok: Bool
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
public struct Nothing: Codable, Sendable {
    public init() {}
}
