import L2Control
import L2Edge

extension SwitchDaemon {
    /// `capture-frames`: flushes the capture (as `capture-flush` does), then reads the switch's own
    /// capture file through `filter` with `PcapReader`, so the numbers are the file's frame numbers,
    /// and answers the frames captured at or after `since`.
    func capturedFrames(filter: String, since: UInt64) -> ControlReply {
        guard settings.captures else {
            return .failure(ControlError(.refused, "switch \(settings.name) writes no capture (--no-capture): there are no frames to read"))
        }
        if !filter.isEmpty {
            do { _ = try PacketFilter(filter, snaplen: settings.snaplen) } catch {
                return .failure(ControlError(.invalidArgument, "capture-frames: \(error.message)"))
            }
        }
        flushCaptures()
        do {
            let frames = try PcapReader.readAll(path: settings.capturePath, filter: filter)
            return .result(frames.filter { $0.wallNanoseconds >= since }.map {
                CapturedFrameRef(number: $0.number, wallNanoseconds: $0.wallNanoseconds)
            })
        } catch {
            return .failure(ControlError(.failed, "switch \(settings.name) could not read its capture: \(error.message)"))
        }
    }
}
