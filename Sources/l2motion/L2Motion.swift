import ArgumentParser
import L2Control
import Logging

/// The `l2motion` command: the root only configures; each verb is its own type in Commands/.
@main
struct L2Motion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "l2motion",
        abstract: "A vMotion-style live migration emulated with real Layer-2 frames.",
        discussion: """
            Start with `l2motion demo`. A lab stays up with `l2motion lab up` until `l2motion lab down`;
            switches and hosts run as background processes, captures go to Captures/<run>/.
            """,
        version: Product.version,
        subcommands: [
            SwitchCommand.self, MACTableCommand.self, SwitchEventsCommand.self, SwitchPortsCommand.self, CountersCommand.self,
            PortCommand.self, FlushCommand.self, FrameGenCommand.self, CaptureCommand.self, ExtcapCommand.self,
            LabCommand.self, DemoCommand.self, AnnotateCommand.self, MigrateCommand.self, PingTestCommand.self, FaultMatrixCommand.self,
            HostCommand.self, VMCommand.self, HostInfoCommand.self, UDPProbeCommand.self, TCPProbeCommand.self, TCPTestCommand.self, ScenarioCommand.self,
            MachineRelayCommand.self,
        ])
}

/// Sets up swift-log once per process: stderr, level from `L2MOTION_LOG` (default info).
enum LoggingSetup {
    static func bootstrap(label: String) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: ProcessInfoLite.environment("L2MOTION_LOG") ?? "info") ?? .info
            return handler
        }
        return Logger(label: label)
    }
}
