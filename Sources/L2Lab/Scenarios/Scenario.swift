/// A failure mode from the field, reproduced on purpose: what was reported, the display filters that
/// show it, and one or more parts, each a lab with one thing changed and the checks that pass when
/// exactly what the field expects is observed (an expected outage is a pass, with its length).
public struct Scenario: Sendable {
    public var name: String
    public var title: String
    /// The field report it reproduces, in a sentence or two.
    public var fieldReport: String
    public var filters: [ScenarioFilter]
    public var parts: [ScenarioPart]

    public init(name: String, title: String, fieldReport: String, filters: [ScenarioFilter], parts: [ScenarioPart]) {
        self.name = name
        self.title = title
        self.fieldReport = fieldReport
        self.filters = filters
        self.parts = parts
    }
}

/// One lab of a scenario: the topology it runs (the changed thing is in it or in the run), what the
/// field expects and why, and the run, which returns its checks.
public struct ScenarioPart: Sendable {
    public var name: String
    public var expectation: String
    public var topology: @Sendable () throws -> Topology
    public var run: @Sendable (ScenarioLab) throws -> [ScenarioCheck]

    public init(name: String, expectation: String, topology: @escaping @Sendable () throws -> Topology,
                run: @escaping @Sendable (ScenarioLab) throws -> [ScenarioCheck]) {
        self.name = name
        self.expectation = expectation
        self.topology = topology
        self.run = run
    }
}

/// The scenarios `l2motion scenario list` shows and `scenario run NAME` runs.
public enum ScenarioCatalog {
    public static let all: [Scenario] = [
        NotifySwitchesOff.scenario, HoldDownSwitch.scenario, LostAnnounces.scenario, VLANMismatch.scenario,
        MACSpoof.scenario, SlowVMotionLink.scenario, MTUMismatch.scenario,
    ]

    /// The scenario called `name`; the error lists the names there are.
    public static func named(_ name: String) throws -> Scenario {
        guard let scenario = all.first(where: { $0.name == name }) else {
            throw LabError("no scenario \"\(name)\"; there are: \(all.map(\.name).joined(separator: ", ")) (see `l2motion scenario list`)")
        }
        return scenario
    }
}
