import Foundation
@testable import L2Lab
import Testing

@Suite struct ScenarioReportTests {
    static func part(_ passed: [Bool], error: String? = nil) -> ScenarioPartReport {
        ScenarioPartReport(name: "part", expectation: "expected",
                           checks: passed.enumerated().map { ScenarioCheck("check \($0.offset)", observed: "seen", passed: $0.element) },
                           figures: [ScenarioFigure("longest ping gap (outage)", 3012.5, "ms")], error: error)
    }

    @Test("a part passes only with checks, all passed, and no error")
    func partVerdict() {
        #expect(Self.part([true, true]).passed)
        #expect(!Self.part([true, false]).passed)
        #expect(!Self.part([]).passed, "a part that checked nothing did not pass")
        #expect(!Self.part([true], error: "the lab did not come up").passed)
    }

    @Test("a scenario passes only when every part does")
    func scenarioVerdict() {
        let good = ScenarioReport(name: "x", title: "t", fieldReport: "f", parts: [Self.part([true]), Self.part([true])], filters: [])
        #expect(good.passed)
        var bad = good
        bad.parts.append(Self.part([false]))
        #expect(!bad.passed)
        #expect(!ScenarioReport(name: "x", title: "t", fieldReport: "f", parts: [], filters: []).passed)
    }

    @Test("the text names each failed check and the filters; JSON round-trips with the verdicts")
    func rendering() throws {
        let report = ScenarioReport(name: "holddown-switch", title: "t", fieldReport: "f", parts: [Self.part([true, false])],
                                    filters: [ScenarioFilter("rarp", shows: "the RARPs")])
        let text = report.text
        #expect(text.contains("FAIL  part"))
        #expect(text.contains("[FAILED] check 1: seen"))
        #expect(text.contains("longest ping gap (outage): 3012.50 ms"))
        #expect(text.contains("rarp    the RARPs"))
        #expect(text.hasSuffix("scenario holddown-switch: FAILED"))
        let data = try JSONEncoder().encode(report)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["passed"] as? Bool == false)
        #expect(try JSONDecoder().decode(ScenarioReport.self, from: data) == report)
    }

    @Test("every scenario in the catalog has a unique name, a field report, filters and parts")
    func catalog() {
        let names = ScenarioCatalog.all.map(\.name)
        #expect(Set(names).count == names.count)
        for scenario in ScenarioCatalog.all {
            #expect(!scenario.fieldReport.isEmpty && !scenario.filters.isEmpty && !scenario.parts.isEmpty, "\(scenario.name)")
        }
        #expect(throws: LabError.self) { try ScenarioCatalog.named("nope") }
    }

    @Test("the scenarios' topologies are valid labs")
    func topologies() throws {
        for scenario in ScenarioCatalog.all {
            for part in scenario.parts {
                let topology = try part.topology()
                #expect(TopologyValidator.problems(in: topology).isEmpty, "\(scenario.name) / \(part.name): \(TopologyValidator.problems(in: topology))")
            }
        }
    }
}
