import L2Wire
import Testing
@testable import L2Switch

@Suite("Event log")
struct EventLogTests {
    func event(_ n: Int) -> SwitchEvent {
        SwitchEvent(kind: .moved, time: UInt64(n), mac: mac(n), oldPort: 1, newPort: 2, frameNumber: UInt64(n))
    }

    @Test func cursorReadsOnlyNewEvents() {
        var log = EventLog(capacity: 8)
        #expect(log.events(since: 0) == EventLog.Batch(events: [], next: 0, missed: 0))
        for n in 0..<3 { log.append(event(n)) }
        let first = log.events(since: 0)
        #expect(first.events.map(\.sequence) == [0, 1, 2])
        #expect(first.events.map(\.mac) == [mac(0), mac(1), mac(2)])
        #expect(first.next == 3)
        #expect(first.missed == 0)
        #expect(log.events(since: first.next).events.isEmpty)
        log.append(event(3))
        #expect(log.events(since: first.next).events.map(\.sequence) == [3])
    }

    @Test func ringKeepsTheLastEventsAndReportsWhatWasMissed() {
        var log = EventLog(capacity: 4)
        for n in 0..<10 { log.append(event(n)) }
        #expect(log.count == 4)
        #expect(log.oldestSequence == 6)
        let batch = log.events(since: 2)
        #expect(batch.events.map(\.sequence) == [6, 7, 8, 9])
        #expect(batch.events.map(\.frameNumber) == [6, 7, 8, 9])
        #expect(batch.missed == 4)
        #expect(batch.next == 10)
        #expect(log.events(since: 8).events.map(\.sequence) == [8, 9])
        #expect(log.events(since: 8).missed == 0)
        // A cursor from a later incarnation of the log is reset.
        #expect(log.events(since: 50).next == 10)
    }

    @Test func switchLogsLearnsAndMovesWithFrameNumbers() throws {
        var core = try threePortSwitch(.init(eventLogCapacity: 4))
        _ = core.receive(frame(to: .broadcast, from: vm), on: 2, at: 10, frameNumber: 100)
        _ = core.receive(frame(to: .broadcast, from: vm), on: 2, at: 11, frameNumber: 101)  // refresh: no event
        _ = core.receive(rarpAnnounce(for: vm), on: 3, at: 12, frameNumber: 102)
        let batch = core.events(since: 0)
        #expect(batch.events.map(\.kind) == [.learned, .moved])
        #expect(batch.events.map(\.frameNumber) == [100, 102])
        #expect(batch.events[1].oldPort == 2)
        #expect(batch.events[1].newPort == 3)
        #expect(batch.events[1].time == 12)
    }

    @Test func learnedEventsCanBeLeftOutOfTheLog() throws {
        var core = try threePortSwitch(.init(logsLearning: false))
        let learned = core.receive(frame(to: .broadcast, from: vm), on: 2, at: 10, frameNumber: 1)
        #expect(learned.event == nil)
        let moved = core.receive(rarpAnnounce(for: vm), on: 3, at: 12, frameNumber: 2)
        #expect(moved.event?.kind == .moved)
        #expect(core.events(since: 0).events.map(\.kind) == [.moved])
    }
}
