import L2Control
import L2Edge
import L2Guest

/// `send-as`: a VM that spoofs another's MAC. Its frames go through the host's virtual switch like
/// any it sends, so a port group that rejects forged transmits drops them at the VM's port.
extension HostDaemon {
    /// Makes the VM send `count` spoofed frames, `intervalMs` apart, and reports what the virtual
    /// switch did with them. Refused unless the VM runs here.
    func sendAs(_ arguments: SendAsArguments) throws -> SendAsResult {
        let hosted = try hostedVM(arguments.vm)
        let state = hosted.with { $0.state }
        guard state == .running else {
            throw ControlError(.refused, "VM \(arguments.vm) is \(state) on \(settings.name); it sends frames only while it runs")
        }
        let group = stateLock.withLock { inventory.virtualSwitch.portGroup(labelled: hosted.configuration.portGroup) }
        var result = SendAsResult(sent: 0, droppedForged: 0, toUplink: 0,
                                  portGroup: group?.description ?? "\"\(hosted.configuration.portGroup)\"")
        for sequence in 1...arguments.count where !isStopping {
            if sequence > 1 && arguments.intervalMs > 0 { SystemClock.sleep(nanoseconds: UInt64(arguments.intervalMs) * 1_000_000) }
            let frame = SpoofedFrame.build(claiming: arguments.mac, vm: arguments.vm, sequence: sequence)
            let delivery = sendFromVM(frame, source: hosted.mac)
            result.sent += 1
            if case .forgedSource = delivery.refusal { result.droppedForged += 1 }
            if delivery.uplink { result.toUplink += 1 }
        }
        logger.info("\(arguments.vm) sent \(result.sent) frames as \(arguments.mac): \(result.droppedForged) dropped as forged transmits (port group \(result.portGroup)), \(result.toUplink) to the uplink")
        return result
    }
}
