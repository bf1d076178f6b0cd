import Foundation
import L2Control
import L2Edge
import L2Lab
import Testing

/// A user who is not root gets one clear refusal from every verb that talks to a lab, a non-zero exit,
/// and the lab is untouched.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct PermissionTests {
    static let refusal = "permission denied: run as root (the lab's control sockets are root-only)"

    /// Runs the l2motion binary as `nobody` (uid and gid 65534, no groups): its exit status and stderr.
    static func runAsNobody(_ binary: String, _ arguments: [String]) throws -> (status: Int32, standardError: String) {
        do {
            _ = try CommandRunner.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary] + arguments)
            return (0, "")
        } catch let error as CommandError {
            return (error.status, error.standardError)
        }
    }

    @Test("every verb that talks to a lab tells a non-root user to run as root, and exits non-zero")
    func nonRootIsToldToRunAsRoot() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }
        // A copy nobody can execute, wherever the checkout lives.
        let binary = lab.sandbox.directory + "/l2motion-for-nobody"
        try FileManager.default.copyItem(atPath: RootEnvironment.binary, toPath: binary)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: binary)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: lab.sandbox.directory)

        let verbs: [[String]] = [
            ["lab", "down", "--name", lab.name],
            ["lab", "status", "--name", lab.name],
            ["migrate", "web01", "--to", "esx02", "--lab", lab.name],
            ["mac-table", "pswitch", "--lab", lab.name],
            ["port", "pswitch", "esx01", "down", "--lab", lab.name],
            ["vm", "list", "--host", "esx01", "--lab", lab.name],
            ["host-info", "esx01", "--lab", lab.name],
            ["ping-test", "--lab", lab.name, "--seconds", "1"],
        ]
        for verb in verbs {
            let (status, standardError) = try Self.runAsNobody(binary, verb)
            #expect(status != 0, "\(verb.joined(separator: " ")) exited 0")
            #expect(standardError.contains(Self.refusal), "\(verb.joined(separator: " ")): \(standardError)")
        }
        // Nothing was touched: the lab still runs its VM and its ports are up.
        #expect(try lab.host("esx01", HostCall.listVMs()).map(\.name) == ["web01"])
        #expect(try lab.switchCall("pswitch", SwitchCall.counters).allSatisfy(\.up))
        #expect(FileManager.default.fileExists(atPath: lab.folder.path))
    }

    @Test("lab down removes /run/l2motion when the last lab goes")
    func lastLabDownRemovesTheRunRoot() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }
        let others = try FileManager.default.contentsOfDirectory(atPath: RunFolder.root).filter { $0 != lab.name }
        _ = try lab.sandbox.run(["lab", "down", "--name", lab.name])
        #expect(!FileManager.default.fileExists(atPath: lab.folder.path))
        if others.isEmpty {
            #expect(!FileManager.default.fileExists(atPath: RunFolder.root), "the empty /run/l2motion is removed")
        } else {
            // Another lab (not this test's) is up: its folder must stay.
            #expect(FileManager.default.fileExists(atPath: RunFolder.root), "other labs' folders stay: \(others)")
        }
    }
}
