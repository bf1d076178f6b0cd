/// The limits of the hosts' virtual switch and of `vm send-as`, beside the others in `Limits`.
extension Limits {
    /// A port group's VLAN id: 0 (untagged) or an 802.1Q VLAN, 1...4094.
    public static let portGroupVLAN = NumericLimit("vlan", "", 0...4_094, integral: true)
    /// Frames one `vm send-as` sends.
    public static let sendAsCount = NumericLimit("--count", "frames", 1...100_000, integral: true)
    /// Milliseconds between the frames of one `vm send-as`.
    public static let sendAsIntervalMs = NumericLimit("--interval-ms", "milliseconds", 0...60_000, integral: true)
}
