/// Port security on an access port: at most `maximumMACs` source addresses learned on the port;
/// with `sticky` those never age; a frame from one more address is a violation, answered by
/// `violation`. Never on a trunk: a host's uplink carries every VM it runs and every VM that
/// migrates to it, and a limit there would stop vMotion itself.
public struct PortSecurity: Hashable, Sendable, Codable, CustomStringConvertible {
    /// What a port does about a frame from one address too many.
    public enum Violation: String, Hashable, Sendable, Codable, CaseIterable {
        /// Drop the frame and count it (`security_violation`); the port stays up.
        case drop
        /// Drop the frame and shut the port (err-disabled) until `port P up` re-enables it.
        case shut
    }

    /// The limit a port can be given.
    public static let maximumMACRange = 1...4096

    public var maximumMACs: Int
    public var sticky: Bool
    public var violation: Violation

    public init(maximumMACs: Int = 1, sticky: Bool = false, violation: Violation = .drop) {
        self.maximumMACs = maximumMACs
        self.sticky = sticky
        self.violation = violation
    }

    /// `max 1 MAC, sticky, shut`.
    public var description: String {
        "max \(maximumMACs) MAC\(maximumMACs == 1 ? "" : "s")" + (sticky ? ", sticky" : "") + ", \(violation.rawValue)"
    }

    enum CodingKeys: String, CodingKey {
        case sticky, violation
        case maximumMACs = "max_macs"
    }
}
