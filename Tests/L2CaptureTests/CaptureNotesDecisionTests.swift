import L2Capture
import L2Switch
import L2Wire
import Testing

/// The capture's comments on what hold-down, flaps, VLANs and port security did to a frame.
@Suite("Capture notes for hold-down, flaps, VLAN and security drops")
struct CaptureNotesDecisionTests {
    static let vm = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10)
    static let names = ["client01", "esx01", "esx02"]

    @Test func anIgnoredMoveAndAFlapAreNoted() {
        let ignored = ForwardingResult(decision: .flood, event: SwitchEvent(kind: .moveIgnored, time: 1, mac: Self.vm, oldPort: 2,
                                                                            newPort: 3, frameNumber: 7))
        #expect(CaptureNotes.worthNoting(ignored, destinationIsMulticast: true))
        #expect(CaptureNotes(ignored, ingress: 2, destination: .broadcast).all.map { $0.text(interfaceNames: Self.names) }
            == ["move ignored (hold-down): 00:50:56:00:00:10 stays on esx01, seen on esx02"])
        let flapping = ForwardingResult(decision: .flood, event: SwitchEvent(kind: .moved, time: 1, mac: Self.vm, oldPort: 2, newPort: 3,
                                                                             frameNumber: 8), flapped: true)
        #expect(CaptureNotes(flapping, ingress: 2, destination: .broadcast).all.map { $0.text(interfaceNames: Self.names) }
            == ["station move 00:50:56:00:00:10 esx01 → esx02", "flap: 00:50:56:00:00:10 keeps moving between esx01 and esx02"])
    }

    @Test(arguments: [
        (DropReason.taggedOnAccess, "dropped: 802.1Q-tagged frame on an access port"),
        (.vlanNotAllowed, "dropped: VLAN not allowed on the trunk"),
        (.securityViolation, "dropped: port security violation (one source address too many)"),
    ])
    func newDropsAreExplained(reason: DropReason, text: String) {
        let result = ForwardingResult(decision: .drop(reason))
        #expect(CaptureNotes(result, ingress: 0, destination: .broadcast).all.map { $0.text(interfaceNames: Self.names) } == [text])
    }
}
