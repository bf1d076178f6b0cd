import ArgumentParser
import L2Control
import L2Guest

/// `l2motion host port-group add|remove --host esx02 LABEL [--vlan N] [--forged-transmits reject]`: a
/// running host's port groups, like `esxcli network vswitch standard portgroup add/remove` (and `set
/// --vlan-id`, `policy security set --allow-forged-transmits`). Labels are matched exactly, case included.
struct PortGroupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "port-group", abstract: "Add or remove a port group on a running host.",
        subcommands: [Add.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a port group to a running host.")
        @Argument(help: "The port group's label, e.g. Production (exact, case included).") var label: String
        @Option(help: "The port group's VLAN id, 0...4094 (0: untagged); the host's virtual switch tags its frames on the uplink.")
        var vlan = 0
        @Option(help: "The port group's forged-transmits policy: accept (the default) or reject (a VM sending another MAC as source is dropped by its host).")
        var forgedTransmits = ForgedTransmitsPolicy.accept
        @OptionGroup var target: HostTarget
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try PortGroupCommand.validate(label)
            try Limits.portGroupVLAN.named("--vlan").validate(vlan)
        }

        func run() throws {
            let groups = try target.call(HostCall.addPortGroup(label, vlan: vlan == 0 ? nil : UInt16(vlan),
                                                               forgedTransmits: forgedTransmits == .accept ? nil : forgedTransmits))
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

extension ForgedTransmitsPolicy: ExpressibleByArgument {}
