import L2Wire

/// What `l2motion vm send-as` makes a VM send, standing for a guest that spoofs another's MAC: a
/// broadcast frame of the local experimental EtherType 0x88B5 whose source MAC is `claimed`, not the
/// VM's own, with a short ASCII payload naming the VM and the frame's number (padded to 60 bytes).
public enum SpoofedFrame {
    public static let etherType = EtherType.localExperimental1

    /// Frame `sequence` (from 1) of VM `vm` claiming MAC `claimed`.
    public static func build(claiming claimed: MACAddress, vm: String, sequence: Int) -> [UInt8] {
        let text = "l2motion send-as \(vm) #\(sequence)"
        return EthernetFrame.build(destination: .broadcast, source: claimed, etherType: etherType, payload: Array(text.utf8.prefix(200)))
    }
}
