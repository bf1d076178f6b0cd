import Foundation

/// How one request line is decoded, with an error that says what was wrong: not JSON, not one
/// command, an unknown command (listing the known ones), or bad arguments.
public enum ControlLine {
    public static let maximumRequestBytes = 64 * 1024

    public static func decode<Request: ControlRequestKind>(_ type: Request.Type, from line: Data) -> Result<Request, ControlError> {
        let example = "{\"\(Request.commands.first ?? "status")\":{}}"
        guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any] else {
            return .failure(ControlError(.badRequest, "malformed request: expected one JSON object like \(example) per line"))
        }
        guard object.count == 1, let command = object.keys.first else {
            return .failure(ControlError(.badRequest, "a request names exactly one command, like \(example); got \(object.count) keys"))
        }
        guard Request.commands.contains(command) else {
            return .failure(ControlError(.unknownCommand, "unknown command \"\(command)\"; the \(Request.daemon) knows \(Request.commands.joined(separator: ", "))"))
        }
        do {
            return .success(try ControlJSON.decoder.decode(Request.self, from: line))
        } catch let error as ConfigurationError {
            return .failure(ControlError(.invalidArgument, "\(command): \(error.message)"))
        } catch let error as DecodingError {
            return .failure(ControlError(.invalidArgument, "\(command): \(describe(error))"))
        } catch {
            return .failure(ControlError(.invalidArgument, "\(command): \(error)"))
        }
    }

    /// A decoding error in words: which argument, and what was wrong with it.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).filter { !$0.isEmpty }.dropFirst().joined(separator: ".")
        }
        switch error {
        case let .keyNotFound(key, context):
            let at = path(context)
            return "missing argument \"\(at.isEmpty ? key.stringValue : "\(at).\(key.stringValue)")\""
        case let .typeMismatch(type, context), let .valueNotFound(type, context):
            return "argument \"\(path(context))\" must be \(type)"
        case let .dataCorrupted(context):
            let at = path(context)
            return (at.isEmpty ? "" : "argument \"\(at)\": ") + context.debugDescription
        @unknown default:
            return "\(error)"
        }
    }
}
