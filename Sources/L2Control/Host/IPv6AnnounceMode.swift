/// What a destination announces for the VM's IPv6 addresses after the resume (`--announce-ipv6`).
///
/// `na` (the default): at each RARP of the announce schedule it also sends one unsolicited Neighbor
/// Advertisement per IPv6 address of the VM (link-local included; override set, solicited clear, to
/// ff02::1), as a Linux guest does when its NIC tells it the peers must be notified. `none`: RARPs
/// only, as QEMU alone sends. With `--announce none` there is no round, so no NA either.
public enum IPv6AnnounceMode: String, Codable, Sendable, CaseIterable {
    case na
    case none
}
