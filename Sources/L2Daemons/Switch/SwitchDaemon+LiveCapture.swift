import L2Capture
import L2Control
import L2Edge
#if canImport(Glibc)
import Glibc
#endif

extension SwitchDaemon {
    /// `capture-stream`: checks the request, then streams the capture to the connection: the pcapng
    /// section header and interfaces first, then every record the file gets from now on (of one port,
    /// or all), until the reader hangs up or the switch stops (then the statistics blocks end it).
    func openCaptureStream(_ request: SwitchRequest) -> (reply: ControlReply, stream: (@Sendable (OwnedDescriptor) -> Void)?)? {
        guard case let .captureStream(port: name) = request else { return nil }
        var index: Int?
        if let name {
            guard let found = portIndex(name) else { return (.failure(noSuchPort(name)), nil) }
            index = found
        }
        guard let ring = captureRing else {
            return (.failure(ControlError(.refused, "switch \(settings.name) writes no capture (--no-capture): there is nothing to stream")), nil)
        }
        guard settings.captureFormat == .pcapng else {
            return (.failure(ControlError(.refused, "live capture streams pcapng, and switch \(settings.name) captures pcap; start it with --capture-format pcapng")), nil)
        }
        let start = CaptureStreamStart(format: CaptureFormat.pcapng.rawValue, interfaces: settings.ports.map(\.name), port: name)
        let reader = LiveReader(port: index)
        return (.result(start), { [self] connection in stream(ring, to: reader, over: connection) })
    }

    /// The reader's side, on its connection's thread: header, then records as they come; a reader
    /// that stops reading only loses records (counted, and logged when it leaves).
    private func stream(_ ring: CaptureRing<FileEncoder>, to reader: LiveReader, over connection: OwnedDescriptor) {
        ring.live.attach(reader)
        logger.info("live capture reader attached\(reader.port.map { " (port \(settings.ports[$0].name))" } ?? "")")
        defer {
            ring.live.detach(reader)
            logger.info("live capture reader left; \(reader.dropped) records dropped for it")
        }
        guard (try? ring.encoder.fileHeader().withUnsafeBytes({ try connection.writeAll($0) })) != nil else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let finished = reader.isFinished  // read before taking: what was offered before it is then taken below
            let count = reader.take(into: buffer)
            if count > 0 {
                guard (try? connection.writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))) != nil else { return }
                continue
            }
            if finished { return }
            // Nothing waiting: sleep briefly, noticing a reader that hung up (or sent anything: not expected).
            var entry = pollfd(fd: connection.rawValue, events: Int16(POLLIN), revents: 0)  // a hang-up is reported as POLLHUP or a readable EOF
            if poll(&entry, 1, 10) > 0 { return }
        }
    }
}
