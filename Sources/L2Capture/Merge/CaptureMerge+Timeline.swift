extension CaptureMerge {
    /// Every input's packets in merged order, and the frames an event may be placed on.
    struct Timeline {
        struct Entry {
            var time: UInt64
            var input: Int
            var packet: Int
        }

        /// Merged order: time, then input, then the packet's place in its file.
        let order: [Entry]
        /// Per input, per packet: its place in `order`.
        private let positions: [[Int]]
        /// Places in `order` of the frames an event may land on (not outbound copies), ascending.
        private let targets: [Int]
        /// The same, per input.
        private let targetsByInput: [[Int]]

        init(_ inputs: [Input]) {
            var order: [Entry] = []
            order.reserveCapacity(inputs.reduce(0) { $0 + $1.file.packets.count })
            for (input, capture) in inputs.enumerated() {
                for (index, packet) in capture.file.packets.enumerated() {
                    order.append(Entry(time: packet.wallNanoseconds, input: input, packet: index))
                }
            }
            order.sort { ($0.time, $0.input, $0.packet) < ($1.time, $1.input, $1.packet) }
            var positions = inputs.map { [Int](repeating: 0, count: $0.file.packets.count) }
            var targets: [Int] = []
            var targetsByInput = [[Int]](repeating: [], count: inputs.count)
            for (position, entry) in order.enumerated() {
                positions[entry.input][entry.packet] = position
                if inputs[entry.input].file.packets[entry.packet].direction != .outbound {
                    targets.append(position)
                    targetsByInput[entry.input].append(position)
                }
            }
            self.order = order
            self.positions = positions
            self.targets = targets
            self.targetsByInput = targetsByInput
        }

        /// Where `event`'s comment goes (see `CaptureMerge` for the rule).
        func place(_ event: CaptureEvent, inputs: [Input]) -> EventPlacement {
            var method = EventPlacement.Method.byTime
            if let anchor = event.anchor {
                if let input = inputs.firstIndex(where: { $0.switchName == anchor.switchName }),
                   anchor.frame >= 1, anchor.frame <= UInt64(inputs[input].file.packets.count) {
                    return EventPlacement(event: event, frame: UInt64(positions[input][Int(anchor.frame) - 1] + 1), method: .anchored)
                }
                method = .anchorMissing
            }
            var candidates = targets
            if let preferred = event.preferredSwitch, let input = inputs.firstIndex(where: { $0.switchName == preferred }),
               !targetsByInput[input].isEmpty {
                candidates = targetsByInput[input]
            }
            guard let last = candidates.last else { return EventPlacement(event: event, frame: nil, method: .unplaced) }
            // The first candidate at or after the event's time (candidates are in time order).
            var low = 0, high = candidates.count
            while low < high {
                let middle = (low + high) / 2
                if order[candidates[middle]].time < event.wallNanoseconds { low = middle + 1 } else { high = middle }
            }
            let position = low < candidates.count ? candidates[low] : last
            return EventPlacement(event: event, frame: UInt64(position + 1), method: method)
        }
    }
}
