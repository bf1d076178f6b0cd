import Foundation
import L2Wire
import Yams

/// One thing wrong with a topology, with where it is (`hosts[1].port_groups`, line 22).
public struct TopologyProblem: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var message: String

    public var description: String {
        (line.map { "line \($0): " } ?? "") + (path.isEmpty ? "" : "\(path): ") + message
    }
}

/// A topology was refused; every problem found is listed, not just the first.
public struct TopologyError: Error, Sendable, CustomStringConvertible {
    public var source: String
    public var problems: [TopologyProblem]

    public init(source: String, problems: [TopologyProblem]) {
        self.source = source
        self.problems = problems
    }

    public var description: String {
        "topology \(source) has \(problems.count) problem\(problems.count == 1 ? "" : "s"):\n"
            + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// Reads a YAML topology: unknown fields, type errors and inconsistencies are all reported with
/// their location before anything is created.
public enum TopologyLoader {
    static let knownKeys: [String: Set<String>] = [
        "": ["name", "switches", "clients", "hosts", "datastores", "vms", "machines"],
        "switches": ["name", "mtu", "snaplen", "offloads", "capture-format", "egress-records", "move-holddown", "aging", "members",
                     "vni", "vxlan_port"],
        "clients": ["name", "switch", "address", "vlan", "port_security", "machine", "ipv6"],
        "hosts": ["name", "uplink", "vmotion", "vmk_address", "vmotion2", "vmk2_address", "memory_mib", "port_groups", "datastores",
                  "uplink_vlans", "vmk_port_mtu", "machine"],
        "datastores": ["name", "path"],
        "machines": ["name", "underlay", "underlay_namespace", "control"],
        "vms": ["name", "host", "datastore", "mac", "ip", "memory_mib", "touched_mib", "port_group", "workload", "dirty-rate", "ipv6"],
    ]
    /// The fields of mappings one level further down: `hosts[0].port_groups[1]` (an item written as a
    /// mapping) and `clients[0].port_security`.
    static let nestedKeys: [String: [String: Set<String>]] = [
        "hosts": ["port_groups": ["label", "vlan", "forged_transmits"]],
        "switches": ["members": ["name", "attach", "netns", "qemu", "vxlan", "vni", "local", "dstport", "underlay", "vlan", "trunk", "description", "machine"]],
        "clients": ["port_security": ["max_macs", "sticky", "violation"]],
    ]

    public static func load(path: String) throws -> Topology {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TopologyError(source: path, problems: [TopologyProblem(path: "", line: nil, message: "cannot read the file")])
        }
        return try parse(yaml: String(decoding: data, as: UTF8.self), source: path)
    }

    public static func parse(yaml: String, source: String) throws(TopologyError) -> Topology {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw TopologyError(source: source, problems: [TopologyProblem(path: "", line: nil, message: "the file is empty")])
            }
            root = node
        } catch let error as TopologyError {
            throw error
        } catch {
            throw TopologyError(source: source, problems: [TopologyProblem(path: "", line: nil, message: "not valid YAML: \(error)")])
        }
        var problems = unknownFields(in: root)
        let topology: Topology
        do {
            topology = try YAMLDecoder().decode(Topology.self, from: yaml)
        } catch let error as DecodingError {
            problems.append(describe(error, root: root))
            throw TopologyError(source: source, problems: problems)
        } catch {
            problems.append(TopologyProblem(path: "", line: nil, message: "\(error)"))
            throw TopologyError(source: source, problems: problems)
        }
        problems += TopologyValidator.problems(in: topology).map { problem in
            var located = problem
            located.line = line(of: problem.path, in: root)
            return located
        }
        guard problems.isEmpty else { throw TopologyError(source: source, problems: problems) }
        return topology
    }

    static func unknownFields(in root: Node) -> [TopologyProblem] {
        guard let mapping = root.mapping else {
            return [TopologyProblem(path: "", line: root.mark?.line, message: "the top level must be a mapping with name, switches, clients, hosts, datastores, vms")]
        }
        var problems: [TopologyProblem] = []
        for (key, value) in mapping {
            let name = key.string ?? ""
            guard knownKeys[""]!.contains(name) else {
                problems.append(TopologyProblem(path: name, line: key.mark?.line, message: "unknown field; the top level has \(knownKeys[""]!.sorted().joined(separator: ", "))"))
                continue
            }
            guard let items = value.sequence, let allowed = knownKeys[name] else { continue }
            for (index, item) in items.enumerated() {
                guard let fields = item.mapping else { continue }
                for (field, fieldValue) in fields {
                    let fieldName = field.string ?? ""
                    if !allowed.contains(fieldName) {
                        problems.append(TopologyProblem(path: "\(name)[\(index)].\(fieldName)", line: field.mark?.line,
                                                        message: "unknown field; \(name) entries have \(allowed.sorted().joined(separator: ", "))"))
                    } else if let inner = nestedKeys[name]?[fieldName] {
                        problems += unknownFields(in: fieldValue, path: "\(name)[\(index)].\(fieldName)", allowed: inner)
                    }
                }
            }
        }
        return problems
    }

    /// Unknown keys of `node`, a mapping or a sequence whose mapping items are checked (plain items,
    /// like a port group given by its label, have none).
    static func unknownFields(in node: Node, path: String, allowed: Set<String>) -> [TopologyProblem] {
        let mappings: [(String, Node.Mapping)] = if let mapping = node.mapping {
            [(path, mapping)]
        } else {
            (node.sequence.map(Array.init) ?? []).enumerated().compactMap { index, item in item.mapping.map { ("\(path)[\(index)]", $0) } }
        }
        return mappings.flatMap { place, mapping in
            mapping.compactMap { key, _ -> TopologyProblem? in
                let fieldName = key.string ?? ""
                guard !allowed.contains(fieldName) else { return nil }
                return TopologyProblem(path: "\(place).\(fieldName)", line: key.mark?.line,
                                       message: "unknown field; it has \(allowed.sorted().joined(separator: ", "))")
            }
        }
    }

    static func describe(_ error: DecodingError, root: Node) -> TopologyProblem {
        func pathText(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return text
        }
        switch error {
        case let .keyNotFound(key, context):
            let path = pathText(context.codingPath)
            return TopologyProblem(path: path, line: line(of: path, in: root), message: "missing field \(key.stringValue)")
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .dataCorrupted(context):
            let path = pathText(context.codingPath)
            return TopologyProblem(path: path, line: line(of: path, in: root), message: context.debugDescription)
        @unknown default:
            return TopologyProblem(path: "", line: nil, message: "\(error)")
        }
    }

    /// The line of the YAML node at `path` (like `hosts[1].port_groups`), if it exists.
    static func line(of path: String, in root: Node) -> Int? {
        var node = root
        var lastLine = root.mark?.line
        let scanner = path.replacingOccurrences(of: "[", with: ".[").split(separator: ".")
        for part in scanner {
            if part.hasPrefix("["), let index = Int(part.dropFirst().dropLast()), let items = node.sequence, index < items.count {
                node = items[index]
            } else if let mapping = node.mapping, let value = mapping[String(part)] {
                if let key = mapping.first(where: { $0.key.string == String(part) })?.key { lastLine = key.mark?.line }
                node = value
            } else {
                break
            }
            lastLine = node.mark?.line ?? lastLine
        }
        return lastLine
    }
}
