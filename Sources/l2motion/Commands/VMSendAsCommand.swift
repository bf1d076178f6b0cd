import ArgumentParser
import L2Control
import L2Edge
import L2Lab
import L2Wire

extension VMCommand {
    /// `l2motion vm send-as VM --mac MAC`: the VM sends frames whose source MAC is another's (a guest
    /// that spoofs a MAC), through its host's virtual switch; a port group with "forged transmits:
    /// reject" drops them.
    struct SendAs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "send-as",
            abstract: "Make a VM send broadcast frames (EtherType 0x88B5) with another MAC as their source.",
            discussion: "Finds the host running the VM unless --host is given. Its port group's forged-transmits policy decides: accept lets them out, reject drops them at the VM's port (counted in `vm list` and `host-info`).")
        @Argument(help: "The VM, e.g. web02.") var vm: String
        @Option(help: "The source MAC the frames claim, e.g. 00:50:56:00:00:10.") var mac: String
        @Option(help: "How many frames (1...100000).") var count = 1
        @Option(help: "Milliseconds between frames (0...60000).") var intervalMs = 100
        @Option(help: "The host running the VM (default: the lab's host that runs it).") var host: String?
        @Option(help: "Control socket path (with --host; overrides --lab).") var socket: String?
        @OptionGroup var labOptions: LabOptions
        @OptionGroup var output: OutputOptions

        func arguments() throws -> SendAsArguments {
            guard let address = MACAddress(mac) else { throw ValidationError("--mac \"\(mac)\" is not a MAC address like 00:50:56:00:00:10") }
            do { return try SendAsArguments(vm: vm, mac: address, count: count, intervalMs: intervalMs) } catch { throw ValidationError(error.message) }
        }

        func validate() throws { _ = try arguments() }

        func run() throws {
            try LabAccess.require()
            let arguments = try arguments()
            let hostName = try host ?? MigrationCoordinator(lab: labOptions.lab).locate(vm: vm).host
            let path = socket ?? labOptions.runFolder.hostSocket(hostName)
            let result = try ControlClient.call(path, HostCall.sendAs(arguments), timeoutSeconds: arguments.durationSeconds + 30)
            if output.json { return try printJSON(result) }
            print("\(vm) on \(hostName) sent \(result.sent) frame\(result.sent == 1 ? "" : "s") as \(arguments.mac) in port group \(result.portGroup): "
                  + "\(result.droppedForged) dropped as forged transmits, \(result.toUplink) out of the uplink")
        }
    }
}
