import L2Edge

/// The ports a switch forwards between, whatever their kind, by port index (the first `--port` is
/// index 0, port p1 of the switch core). The switch closes them when it stops.
final class SwitchPorts: Sendable {
    let all: [any SwitchPort]

    init(_ ports: [any SwitchPort]) { all = ports }

    func closeAll() {
        for port in all { port.close() }
    }
}
