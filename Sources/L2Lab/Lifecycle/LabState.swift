import Foundation
import L2Control

/// What a running lab consists of, saved in its run folder as `lab.json` as each piece is created,
/// so `lab down` can remove it even after a crash half-way.
public struct LabState: Codable, Sendable {
    public struct Process: Codable, Sendable {
        public var role: String
        public var name: String
        public var pid: Int32
    }

    public var name: String
    public var topology: Topology
    public var captureDirectory: String
    public var datastoreRoot: String
    public var namespaces: [String] = []
    public var processes: [Process] = []
    public var createdAt: Date
    /// A lab across machines: the machine this part belongs to, and the whole topology (its other
    /// machines, where each host runs, how to reach them). Nil on one machine.
    public var machine: String?
    public var wholeTopology: Topology?
    /// VM folders this part wrote into shared datastores (`datastores[].path`), removed by `lab down`.
    public var sharedFolders: [String]?

    public init(topology: Topology, captureDirectory: String, datastoreRoot: String) {
        name = topology.name
        self.topology = topology
        self.captureDirectory = captureDirectory
        self.datastoreRoot = datastoreRoot
        createdAt = Date()
    }

    public var folder: RunFolder { RunFolder(lab: name) }

    public func save() throws {
        let data = try ControlJSON.prettyEncoder.encode(self)
        try data.write(to: URL(fileURLWithPath: folder.stateFile), options: .atomic)
        chmod(folder.stateFile, 0o600)
    }

    public static func load(lab: String) -> LabState? {
        guard let data = FileManager.default.contents(atPath: RunFolder(lab: lab).stateFile) else { return nil }
        return try? ControlJSON.decoder.decode(LabState.self, from: data)
    }

    /// The folder of datastore `name`: its shared `path`, or a folder in the run folder.
    public func datastorePath(of name: String) -> String {
        topology.datastores.first { $0.name == name }?.path ?? "\(datastoreRoot)/\(name)"
    }

    /// The capture file of switch `switchName`, in its topology's format.
    public func capturePath(of switchName: String) -> String {
        let format = topology.switches.first { $0.name == switchName }?.captureFormat ?? .pcapng
        return "\(captureDirectory)/\(switchName).\(format.fileExtension)"
    }
}
