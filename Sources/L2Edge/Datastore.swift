import Foundation
import L2Control
import L2Guest

/// A datastore mounted on a host: a directory under a name. A VM's files live in `<dir>/<vm>/`:
/// `<vm>.json` (its configuration) and its disk image.
public struct Datastore: Sendable {
    public let name: String
    public let path: String

    public init(name: String, path: String) {
        self.name = name
        self.path = path
    }

    public func folder(of vm: String) -> String { "\(path)/\(vm)" }
    public func configurationPath(of vm: String) -> String { "\(folder(of: vm))/\(vm).json" }

    /// Reads and validates a VM's configuration and checks its disk image exists.
    public func loadConfiguration(of vm: String) throws -> VMConfiguration {
        let file = configurationPath(of: vm)
        guard let data = FileManager.default.contents(atPath: file) else {
            let present = (try? FileManager.default.contentsOfDirectory(atPath: path))?.sorted() ?? []
            throw ConfigurationError("VM \(vm) has no configuration at \(file) on datastore \(name) (it holds: \(present.isEmpty ? "nothing" : present.joined(separator: ", ")))")
        }
        let configuration: VMConfiguration
        do {
            configuration = try VMConfiguration.parse(json: [UInt8](data))
        } catch {
            throw ConfigurationError("\(file): \(error)")
        }
        guard configuration.name == vm else {
            throw ConfigurationError("\(file) names the VM \"\(configuration.name)\", expected \"\(vm)\"")
        }
        let disk = "\(folder(of: vm))/\(configuration.disk)"
        guard FileManager.default.fileExists(atPath: disk) else {
            throw ConfigurationError("VM \(vm): disk image \(disk) is missing on datastore \(name)")
        }
        return configuration
    }

    /// Writes a VM's folder: configuration JSON and a sparse disk image of `diskMiB`.
    public func create(_ configuration: VMConfiguration, diskMiB: Int = 64) throws {
        let folder = folder(of: configuration.name)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let data = try ControlJSON.prettyEncoder.encode(configuration)
        try data.write(to: URL(fileURLWithPath: configurationPath(of: configuration.name)))
        let disk = "\(folder)/\(configuration.disk)"
        if !FileManager.default.fileExists(atPath: disk) {
            _ = FileManager.default.createFile(atPath: disk, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: disk))
            try handle.truncate(atOffset: UInt64(diskMiB) << 20)
            try handle.close()
        }
    }
}
