import ArgumentParser
import L2Control
import L2Guest

/// `l2motion host port-group add|remove --host esx02 LABEL`: a running host's port groups, like
/// `esxcli network vswitch standard portgroup add/remove`. Labels are matched exactly, case included.
struct PortGroupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "port-group", abstract: "Add or remove a port group on a running host.",
        subcommands: [Add.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add an (untagged) port group to a running host.")
        @Argument(help: "The port group's label, e.g. Production (exact, case included).") var label: String
        @OptionGroup var target: HostTarget
        @OptionGroup var output: OutputOptions

        func validate() throws { try PortGroupCommand.validate(label) }

        func run() throws {
            let groups = try target.call(HostCall.addPortGroup(label))
            if output.json { return try printJSON(groups) }
            print("port group \"\(label)\" added on \(target.host); port groups: \(PortGroupCommand.list(groups))")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove", abstract: "Remove a port group from a running host (refused while a VM there uses it).")
        @Argument(help: "The port group's label (exact, case included).") var label: String
        @OptionGroup var target: HostTarget
        @OptionGroup var output: OutputOptions

        func validate() throws { try PortGroupCommand.validate(label) }

        func run() throws {
            let groups = try target.call(HostCall.removePortGroup(label))
            if output.json { return try printJSON(groups) }
            print("port group \"\(label)\" removed from \(target.host); port groups: \(PortGroupCommand.list(groups))")
        }
    }

    static func validate(_ label: String) throws {
        guard !label.isEmpty else { throw ValidationError("the port group label must not be empty; give it like Production") }
    }

    static func list(_ groups: [PortGroup]) -> String {
        groups.isEmpty ? "none" : groups.map(\.description).joined(separator: ", ")
    }
}
