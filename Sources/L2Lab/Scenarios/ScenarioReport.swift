import Foundation

/// One thing a scenario checks: what the field expects, what this run observed, and whether they agree.
public struct ScenarioCheck: Codable, Sendable, Equatable {
    public var expectation: String
    public var observed: String
    public var passed: Bool

    public init(_ expectation: String, observed: String, passed: Bool) {
        self.expectation = expectation
        self.observed = observed
        self.passed = passed
    }
}

/// A measured number a scenario reports (an outage, a count of ignored moves), with its unit.
public struct ScenarioFigure: Codable, Sendable, Equatable {
    public var name: String
    public var value: Double
    public var unit: String

    public init(_ name: String, _ value: Double, _ unit: String) {
        self.name = name
        self.value = value
        self.unit = unit
    }
}

/// A Wireshark display filter and what it shows in this scenario's capture.
public struct ScenarioFilter: Codable, Sendable, Equatable {
    public var filter: String
    public var shows: String

    public init(_ filter: String, shows: String) {
        self.filter = filter
        self.shows = shows
    }
}

/// What one part of a scenario observed: its checks, figures and notes, and where its captures are.
public struct ScenarioPartReport: Codable, Sendable, Equatable {
    public var name: String
    public var expectation: String
    public var checks: [ScenarioCheck]
    public var figures: [ScenarioFigure]
    public var notes: [String]
    public var captureDirectory: String?
    /// The part's own failure (the lab did not come up, a command failed), apart from its checks.
    public var error: String?

    public var passed: Bool { error == nil && !checks.isEmpty && checks.allSatisfy(\.passed) }

    public init(name: String, expectation: String, checks: [ScenarioCheck] = [], figures: [ScenarioFigure] = [],
                notes: [String] = [], captureDirectory: String? = nil, error: String? = nil) {
        self.name = name
        self.expectation = expectation
        self.checks = checks
        self.figures = figures
        self.notes = notes
        self.captureDirectory = captureDirectory
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case name, expectation, checks, figures, notes, error
        case captureDirectory = "capture-directory"
    }

    /// The stored fields, and the verdict beside them for readers of the JSON (decoding derives it).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(expectation, forKey: .expectation)
        try container.encode(checks, forKey: .checks)
        try container.encode(figures, forKey: .figures)
        try container.encode(notes, forKey: .notes)
        try container.encodeIfPresent(captureDirectory, forKey: .captureDirectory)
        try container.encodeIfPresent(error, forKey: .error)
        try VerdictKey.encode(passed, to: encoder)
    }
}

/// The `passed` key the scenario reports add to their JSON: derived from the checks, never stored.
enum VerdictKey: String, CodingKey {
    case passed

    static func encode(_ passed: Bool, to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: VerdictKey.self)
        try container.encode(passed, forKey: .passed)
    }
}

/// The result of `l2motion scenario run NAME`: the field report it reproduces, each part's checks,
/// and the display filters that show the evidence. It passed when every part did.
public struct ScenarioReport: Codable, Sendable, Equatable {
    public var name: String
    public var title: String
    public var fieldReport: String
    public var parts: [ScenarioPartReport]
    public var filters: [ScenarioFilter]

    public var passed: Bool { !parts.isEmpty && parts.allSatisfy(\.passed) }

    public init(name: String, title: String, fieldReport: String, parts: [ScenarioPartReport], filters: [ScenarioFilter]) {
        self.name = name
        self.title = title
        self.fieldReport = fieldReport
        self.parts = parts
        self.filters = filters
    }

    enum CodingKeys: String, CodingKey {
        case name, title, parts, filters
        case fieldReport = "field-report"
    }

    /// The stored fields, and the verdict beside them for readers of the JSON (decoding derives it).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(title, forKey: .title)
        try container.encode(fieldReport, forKey: .fieldReport)
        try container.encode(parts, forKey: .parts)
        try container.encode(filters, forKey: .filters)
        try VerdictKey.encode(passed, to: encoder)
    }

    /// The report as text: per part the expectation, each check with PASS/FAIL, figures and notes.
    public var text: String {
        var lines = ["scenario \(name): \(title)", "  field report: \(fieldReport)"]
        for part in parts {
            lines.append("")
            lines.append("  \(part.passed ? "PASS" : "FAIL")  \(part.name)")
            lines.append("    expected: \(part.expectation)")
            for check in part.checks {
                lines.append("    [\(check.passed ? "ok" : "FAILED")] \(check.expectation): \(check.observed)")
            }
            for figure in part.figures {
                lines.append("    \(figure.name): \(Self.format(figure.value)) \(figure.unit)")
            }
            for note in part.notes { lines.append("    note: \(note)") }
            if let error = part.error { lines.append("    error: \(error)") }
            if let directory = part.captureDirectory { lines.append("    captures: \(directory)") }
        }
        lines.append("")
        lines.append("  Wireshark display filters for the evidence:")
        for filter in filters { lines.append("    \(filter.filter)    \(filter.shows)") }
        lines.append("")
        lines.append("scenario \(name): \(passed ? "PASSED" : "FAILED")")
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e12 ? String(Int64(value)) : String(format: "%.2f", value)
    }
}
