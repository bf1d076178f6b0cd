

/// What `status` on a switch's control socket answers.
public struct SwitchStatus: Codable, Sendable {
    public var name: String
    public var pid: Int32
    public var capture: String
    public var framesCaptured: UInt64
    public var ports: [PortSpec]
    /// Each port's endpoint state, in port order (absent from switches older than port kinds).
    public var endpoints: [PortEndpointState]?

    public init(name: String, pid: Int32, capture: String, framesCaptured: UInt64, ports: [PortSpec],
                endpoints: [PortEndpointState]? = nil) {
        self.name = name
        self.pid = pid
        self.capture = capture
        self.framesCaptured = framesCaptured
        self.ports = ports
        self.endpoints = endpoints
    }

    enum CodingKeys: String, CodingKey {
        case name, pid, capture, ports, endpoints
        case framesCaptured = "frames_captured"
    }
}
