import L2Wire

extension TCPStack {
    enum ServeOutcome {
        /// The service used input: the window opened, an ACK should say so.
        case consumed
        /// Nothing happened.
        case idle
        /// The service broke the contract (waits with a full buffer, or overfilled the ring).
        case reset
    }

    /// Runs the connection's service while it has unread input, no pattern output pending and room
    /// for a full reply in the send ring. After the peer's FIN, the connection closes once the
    /// service has answered what it could.
    mutating func serve(_ block: inout TCPControlBlock, slot: Int, run: inout Run) -> ServeOutcome {
        guard block.state.servesInput, !block.closeAfterSend else { return .idle }
        guard let service = run.services.first(where: { $0.port == block.localPort }) else {
            return block.rcvFill > 0 ? .reset : .idle
        }
        let store = ServiceStore(memory: run.table.memory, bytes: layout.serviceBytes)
        var outcome = ServeOutcome.idle
        var calls = 0
        while block.rcvFill > 0, block.patternRemaining == 0, block.ringFree >= TCPServiceLimits.maximumReply,
              !block.closeAfterSend, calls < TCPTuning.maximumServeCalls {
            calls += 1
            let input = run.table.receivedBytes(slot, count: Int(block.rcvFill))
            let reply = service.serve(input[...], store: store, context: run.context)
            let consumed = min(max(reply.consumed, 0), input.count)
            if consumed == 0, reply.output.isEmpty, !reply.close {
                // Waiting for more input: fine unless no more input can ever arrive.
                if block.rcvFill == UInt32(TCPTuning.receiveBufferBytes) { return .reset }
                break
            }
            if consumed > 0 {
                run.table.consumeReceived(consumed, slot: slot, block: &block)
                outcome = .consumed
            }
            for output in reply.output {
                switch output {
                case let .bytes(bytes):
                    // Bytes after a pattern cannot be held (one generator per connection).
                    guard block.patternRemaining == 0, bytes.count <= block.ringFree else { return .reset }
                    run.table.appendToRing(bytes, slot: slot, block: &block)
                case let .pattern(offset, count):
                    guard block.patternRemaining == 0 else { return .reset }
                    block.patternOffset = offset
                    block.patternRemaining = count
                    run.table.fillPattern(slot, block: &block)
                }
            }
            if reply.close { Self.closeAfterOutput(&block) }
        }
        // The peer is done sending: close once every answer is out. Unanswered input stays unread.
        if block.finReceived, block.patternRemaining == 0 || block.rcvFill == 0 {
            let waiting = block.rcvFill == 0 || (block.patternRemaining == 0 && block.ringFree >= TCPServiceLimits.maximumReply)
            if waiting { Self.closeAfterOutput(&block) }
        }
        return outcome
    }

    /// The connection sends its FIN once the queued output is out. Unread input is discarded, as
    /// is input arriving from now on (acknowledged, never read: a lingering close).
    static func closeAfterOutput(_ block: inout TCPControlBlock) {
        block.closeAfterSend = true
        block.rcvFill = 0
    }
}
