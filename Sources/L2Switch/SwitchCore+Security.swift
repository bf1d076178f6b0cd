import L2Wire

extension SwitchCore {
    /// A frame from one source address more than port `ingress` allows: dropped and counted
    /// (`security_violation`); with `violation: shut` the port also goes down (err-disabled) until
    /// `setPort(up: true)`. A port that drops logs at most one event per second (the counter counts
    /// every frame), so a misbehaving station, or a flood of source addresses, cannot flush the
    /// event log.
    @inline(never)
    mutating func securityViolation(_ source: MACAddress, vlan: UInt16, on ingress: Int, at now: UInt64, frameNumber: UInt64,
                                    tagged: Bool) -> ForwardingResult {
        ports[ingress].counters.rxDrops.securityViolation += 1
        var result = ForwardingResult(decision: .drop(.securityViolation), vlan: vlan, taggedOnIngress: tagged)
        let action = ports[ingress].configuration.security?.violation ?? .drop
        if action == .drop, let last = ports[ingress].lastViolation, now &- last < Self.violationLogInterval {
            return result
        }
        ports[ingress].lastViolation = now
        result.event = eventLog.append(SwitchEvent(kind: .securityViolation, time: now, mac: source, oldPort: nil,
                                                   newPort: ports[ingress].id, frameNumber: frameNumber, vlan: vlan, action: action))
        if action == .shut {
            ports[ingress].configuration.isUp = false
            ports[ingress].errDisabled = true
            rebuildFloodLists()
        }
        return result
    }
}
