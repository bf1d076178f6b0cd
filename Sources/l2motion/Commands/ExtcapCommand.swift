import ArgumentParser
import Foundation
import L2Control
import L2Edge
#if canImport(Glibc)
import Glibc
#endif

/// `l2motion extcap …`: Wireshark's extcap protocol, so the switches of every running lab appear in
/// Wireshark's interface list (`l2motion-<lab>-<switch>`) and capture live from them.
/// `l2motion extcap --install` puts a two-line wrapper into the personal extcap folder.
struct ExtcapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extcap",
        abstract: "Wireshark's extcap interface to running labs' switches (install with `l2motion extcap --install`).",
        discussion: """
            Wireshark calls this with --extcap-interfaces, --extcap-dlts, --extcap-config and
            --capture --fifo PATH. --install writes the wrapper Wireshark runs into the personal extcap
            folder ($WIRESHARK_CONFIG_DIR/extcap, or ~/.config/wireshark/extcap for Wireshark 4.0).
            """)

    @Flag(name: .customLong("extcap-interfaces"), help: "List the interfaces (one per switch of every running lab).")
    var listInterfaces = false
    @Option(name: .customLong("extcap-version"), help: "Wireshark's version (ignored).")
    var wiresharkVersion: String?
    @Option(name: .customLong("extcap-interface"), help: "The interface asked about: l2motion-<lab>-<switch>.")
    var interface: String?
    @Flag(name: .customLong("extcap-dlts"), help: "List the interface's link types.")
    var listDLTs = false
    @Flag(name: .customLong("extcap-config"), help: "List the interface's options.")
    var listConfig = false
    @Flag(help: "Capture into --fifo.")
    var capture = false
    @Option(help: "The pipe Wireshark reads.")
    var fifo: String?
    @Option(name: .customLong("extcap-capture-filter"), help: "A capture filter (not supported: use a display filter).")
    var captureFilter: String?
    @Option(help: "Only this port's records.")
    var port: String?
    @Flag(help: "Install the wrapper into the personal extcap folder and say where.")
    var install = false
    @Option(help: "With --install: the extcap folder (default $WIRESHARK_CONFIG_DIR/extcap or ~/.config/wireshark/extcap, Wireshark 4.0's; 4.2 and later read ~/.local/lib/wireshark/extcap).")
    var folder: String?
    @Argument(parsing: .allUnrecognized, help: .hidden)
    var ignored: [String] = []

    func run() throws {
        if install { return try installWrapper() }
        if listInterfaces {
            print("extcap {version=\(Product.version)}{display=l2motion: live capture of a lab's switches}")
            for target in ExtcapTarget.all() {
                print("interface {value=\(target.value)}{display=l2motion \(target.switchName) (lab \(target.lab))}")
            }
            return
        }
        guard let interface, let target = ExtcapTarget(value: interface) else {
            throw UserFacingError("extcap: name an interface with --extcap-interface l2motion-<lab>-<switch> (see --extcap-interfaces)")
        }
        if let captureFilter, !captureFilter.isEmpty {
            throw UserFacingError("capture filters are not supported on \(interface): use a display filter")
        }
        if listDLTs { return print("dlt {number=1}{name=EN10MB}{display=Ethernet}") }
        if listConfig { return printConfig(target) }
        guard capture, let fifo else {
            throw UserFacingError("extcap: nothing to do; Wireshark passes --extcap-interfaces, --extcap-dlts, --extcap-config or --capture --fifo PATH")
        }
        try stream(target, to: fifo)
    }

    private func printConfig(_ target: ExtcapTarget) {
        print("arg {number=0}{call=--port}{display=Port}{tooltip=Only this port's records}{type=selector}")
        print("value {arg=0}{value=}{display=all ports}{default=true}")
        let ports = (try? ControlClient.call(target.socket, SwitchCall.status).ports.map(\.name)) ?? []
        for port in ports { print("value {arg=0}{value=\(port)}{display=\(port)}") }
    }

    private func stream(_ target: ExtcapTarget, to fifo: String) throws {
        signal(SIGPIPE, SIG_IGN)
        let stream = try ControlClient.openStream(target.socket, SwitchCall.captureStream(port: port.flatMap { $0.isEmpty ? nil : $0 }))
        let descriptor = open(fifo, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw UserFacingError("extcap: cannot open the fifo \(fifo): \(String(cString: strerror(errno)))") }
        try stream.copy(to: OwnedDescriptor(taking: descriptor))  // ends when Wireshark stops the capture
    }

    /// Writes `l2motion-extcap` (a wrapper that runs this binary's `extcap`) into the personal extcap folder.
    private func installWrapper() throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration = environment["WIRESHARK_CONFIG_DIR"] ?? "\(environment["HOME"] ?? NSHomeDirectory())/.config/wireshark"
        let folder = self.folder ?? "\(configuration)/extcap"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.resolvingSymlinksInPath().path
        let resolved = binary.hasPrefix("/") ? binary : FileManager.default.currentDirectoryPath + "/" + binary
        let path = "\(folder)/l2motion-extcap"
        try "#!/bin/sh\nexec '\(resolved)' extcap \"$@\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        guard chmod(path, 0o755) == 0 else { throw UserFacingError("cannot make \(path) executable: \(String(cString: strerror(errno)))") }
        print("installed \(path); restart Wireshark (or run `tshark -D`) to see l2motion-<lab>-<switch> interfaces")
    }
}

/// One switch of a running lab as an extcap interface: `l2motion-<lab>-<switch>`.
struct ExtcapTarget: Equatable {
    let lab: String
    let switchName: String

    var value: String { "l2motion-\(lab)-\(switchName)" }
    var socket: String { RunFolder(lab: lab).switchSocket(switchName) }

    /// Parses an interface value. Lab names are letters and digits only, so the first dash after the
    /// prefix ends the lab's name.
    init?(value: String) {
        guard value.hasPrefix("l2motion-") else { return nil }
        let rest = value.dropFirst("l2motion-".count)
        guard let dash = rest.firstIndex(of: "-"), dash != rest.startIndex, rest.index(after: dash) != rest.endIndex else { return nil }
        lab = String(rest[..<dash])
        switchName = String(rest[rest.index(after: dash)...])
    }

    init(lab: String, switchName: String) {
        self.lab = lab
        self.switchName = switchName
    }

    /// The switches whose control sockets exist under /run/l2motion, by lab and name.
    static func all() -> [ExtcapTarget] {
        let manager = FileManager.default
        let labs = ((try? manager.contentsOfDirectory(atPath: RunFolder.root)) ?? []).sorted()
        return labs.flatMap { lab in
            ((try? manager.contentsOfDirectory(atPath: RunFolder(lab: lab).path)) ?? []).sorted().compactMap { file in
                guard file.hasPrefix("switch-"), file.hasSuffix(".sock") else { return nil }
                return ExtcapTarget(lab: lab, switchName: String(file.dropFirst("switch-".count).dropLast(".sock".count)))
            }
        }
    }
}
