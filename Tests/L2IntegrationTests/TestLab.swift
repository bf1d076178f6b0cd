import Foundation
import L2Control
import L2Daemons
import L2Edge
import L2Lab
import Testing

/// A whole lab brought up with the real `l2motion lab up` for one test, under a name unique to this
/// test process, and taken down (with its sandbox) by `tearDown()`.
final class TestLab: @unchecked Sendable {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var counter = 0

    let sandbox: Sandbox
    let name: String
    let captureRoot: String

    /// A small default-like lab: client01, esx01/esx02, web01 with `memory` MiB on esx01 (`base`: the
    /// example it starts from, the default lab or another `lab topology --example`).
    static func yaml(name: String, memory: Int = 128, touched: Int = 32, workload: String = "web",
                     esx02PortGroup: String = "Production", esx02Datastores: String = "[ds01]", vmotionSnaplen: Int = 128,
                     base: String = DefaultTopology.yaml) -> String {
        var text = base
        text = text.replacingOccurrences(of: "snaplen: 128", with: "snaplen: \(vmotionSnaplen)")
        text = text.replacingOccurrences(of: "name: l2m\n", with: "name: \(name)\n")
        text = text.replacingOccurrences(of: "memory_mib: 1024", with: "memory_mib: \(memory)")
        text = text.replacingOccurrences(of: "touched_mib: 256", with: "touched_mib: \(touched)")
        text = text.replacingOccurrences(of: "workload: web", with: "workload: \(workload)")
        // esx02 is the second host block: change only its port group and datastores.
        if let range = text.range(of: "  - name: esx02") {
            var tail = String(text[range.lowerBound...])
            tail = tail.replacingOccurrences(of: "port_groups: [Production]", with: "port_groups: [\(esx02PortGroup)]", options: [], range: tail.range(of: "port_groups: [Production]"))
            tail = tail.replacingOccurrences(of: "datastores: [ds01]", with: "datastores: \(esx02Datastores)", options: [], range: tail.range(of: "datastores: [ds01]"))
            text = String(text[..<range.lowerBound]) + tail
        }
        return text
    }

    static func uniqueName() -> String {
        let number = lock.withLock { () -> Int in
            counter += 1
            return counter
        }
        return "t\(getpid() % 100_000)\(number)"
    }

    init(yaml: ((String) -> String)? = nil) throws {
        sandbox = try Sandbox()
        name = Self.uniqueName()
        captureRoot = sandbox.directory + "/Captures"
        let topology = (yaml ?? { Self.yaml(name: $0) })(name)
        let file = sandbox.directory + "/topology.yaml"
        try topology.write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try sandbox.run(["lab", "up", "--topology", file, "--captures", captureRoot])
        } catch {
            _ = try? sandbox.run(["lab", "down", "--name", name])
            sandbox.tearDown()
            throw error
        }
    }

    var state: LabState { LabState.load(lab: name)! }
    var folder: RunFolder { RunFolder(lab: name) }
    func namespace(_ node: String) -> String { "\(name)-\(node)" }

    func run(_ arguments: [String]) throws -> String { try sandbox.run(arguments + ["--lab", name]) }

    /// Runs `l2motion ARGS --lab NAME`, which must fail; returns what it printed on stderr.
    func refusal(_ arguments: [String]) throws -> String {
        do {
            let output = try run(arguments)
            Issue.record("`\(arguments.joined(separator: " "))` was accepted: \(output)")
            return ""
        } catch let error as CommandError {
            return error.standardError
        }
    }

    func host<Reply>(_ host: String, _ call: ControlCall<HostRequest, Reply>) throws -> Reply {
        try ControlClient.call(folder.hostSocket(host), call)
    }

    func switchCall<Reply>(_ name: String, _ call: ControlCall<SwitchRequest, Reply>) throws -> Reply {
        try ControlClient.call(folder.switchSocket(name), call)
    }

    /// Runs a command in a node's namespace.
    func exec(_ node: String, _ arguments: [String]) throws -> String {
        try CommandRunner.run(inNamespace: namespace(node), arguments)
    }

    /// Flushes and reads a switch's capture through tshark with a display filter, one line per frame.
    func tshark(_ switchName: String, filter: String, fields: [String]) throws -> [String] {
        _ = try switchCall(switchName, SwitchCall.captureFlush)
        let output = try CommandRunner.run(["tshark", "-r", state.capturePath(of: switchName), "-d", "tcp.port==8000,data", "-Y", filter, "-T", "fields"]
                                           + fields.flatMap { ["-e", $0] })
        return output.split(separator: "\n").map(String.init)
    }

    func tearDown() {
        _ = try? sandbox.run(["lab", "down", "--name", name])
        sandbox.tearDown()
    }
}
