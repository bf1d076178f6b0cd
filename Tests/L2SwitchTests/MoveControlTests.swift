import L2Wire
import Testing
@testable import L2Switch

/// Hold-down, flap detection and port security: what keeps a station where it is, or notices that
/// it keeps moving, or that a port has one station too many.
@Suite("Hold-down, flaps and port security")
struct MoveControlTests {
    let a = mac(0xA), b = mac(0xB), c = mac(0xC)

    @Test func holdDownIgnoresAMoveOfAStationSeenOnItsPortLessThanItAgo() {
        var table = MACTable(configuration: .init(moveHoldDown: 3 * second))
        _ = table.learn(vm, on: 2, at: 0)
        #expect(table.learn(vm, on: 3, at: 1 * second) == .moveIgnored(on: 2, to: 3, first: true))
        #expect(table.learn(vm, on: 3, at: 2 * second) == .moveIgnored(on: 2, to: 3, first: false))
        #expect(table.lookup(vm, at: 2 * second)?.port == 2, "the entry stays")
        // Seen on its own port again: the hold-down starts over, and the next refusal is a first again.
        #expect(table.learn(vm, on: 2, at: 2500 * millisecond) == .refreshed)
        #expect(table.learn(vm, on: 3, at: 5 * second) == .moveIgnored(on: 2, to: 3, first: true))
        // Three seconds after it was last seen on port 2, the move happens.
        #expect(table.learn(vm, on: 3, at: 5500 * millisecond) == .moved(from: 2, to: 3))
        #expect(table.statistics.movesIgnored == 3)
        #expect(table.statistics.moved == 1)
        #expect(table.invariantViolation() == nil)
    }

    @Test func withoutHoldDownTheFirstFrameMoves() {
        var table = MACTable()
        _ = table.learn(vm, on: 2, at: 0)
        #expect(table.learn(vm, on: 3, at: 1) == .moved(from: 2, to: 3))
    }

    /// The migration with a vde_switch-like hold-down: the RARP announce from the new port is
    /// ignored (one event, every frame counted), forwarded nonetheless, and the client's frames
    /// keep going to the old port until the hold-down has passed.
    @Test func switchForwardsButDoesNotMoveDuringHoldDown() throws {
        var core = try threePortSwitch(.init(macTable: .init(moveHoldDown: 3 * second)))
        let client = mac(0x100)
        _ = core.receive(frame(to: .broadcast, from: client), on: 1, at: 0, frameNumber: 1)
        _ = core.receive(frame(to: client, from: vm), on: 2, at: 1 * second, frameNumber: 2)
        let announce = core.receive(rarpAnnounce(for: vm), on: 3, at: 1500 * millisecond, frameNumber: 3)
        #expect(announce.decision == .flood)
        let event = try #require(announce.event)
        #expect(event.kind == .moveIgnored && event.oldPort == 2 && event.newPort == 3 && event.frameNumber == 3)
        #expect(event.description == "#2 t=1500000000ns move ignored 00:50:56:00:00:10 stays on p2, seen on p3 (hold-down) (frame 3)")
        #expect(core.receive(rarpAnnounce(for: vm), on: 3, at: 1600 * millisecond, frameNumber: 4).event == nil, "one event per episode")
        #expect(core.receive(frame(to: vm, from: client), on: 1, at: 2 * second, frameNumber: 5).decision == .unicast(2))
        #expect(core.counters(of: 3)?.movesIgnored == 2)
        // Four seconds after the VM's last frame on p2, its next frame on p3 moves it.
        let moved = core.receive(frame(to: client, from: vm), on: 3, at: 4 * second, frameNumber: 6)
        #expect(moved.event?.kind == .moved)
        #expect(core.receive(frame(to: vm, from: client), on: 1, at: 4 * second, frameNumber: 7).decision == .unicast(3))
        #expect(core.events(since: 0).events.map(\.kind) == [.learned, .learned, .moveIgnored, .moved])
    }

    @Test func aStationMovingBackAndForthIsOneFlapEventPerWindow() throws {
        var core = try threePortSwitch(.init(macTable: .init(flapMoves: 4, flapWindow: 5 * second)))
        _ = core.receive(frame(to: .broadcast, from: vm), on: 1, at: 0, frameNumber: 0)
        var results: [ForwardingResult] = []
        for n in 1...6 {  // a move every 250 ms: p2, p1, p2, p1, p2, p1
            results.append(core.receive(frame(to: .broadcast, from: vm), on: PortID(n % 2 == 1 ? 2 : 1), at: UInt64(n) * 250 * millisecond,
                                        frameNumber: UInt64(n)))
        }
        #expect(results.map(\.flapped) == [false, false, false, true, false, false])
        let flaps = core.events(since: 0).events.filter { $0.kind == .flap }
        try #require(flaps.count == 1)
        #expect(flaps[0].oldPort == 2 && flaps[0].newPort == 1 && flaps[0].frameNumber == 4)
        #expect(flaps[0].flap == SwitchEvent.FlapRate(moves: 4, span: 750 * millisecond))
        #expect(flaps[0].flap?.perSecond == 4 / 0.75)
        #expect(flaps[0].description.hasSuffix("flap 00:50:56:00:00:10 between p2 and p1: 4 moves in 0.8 s (5.3/s) (frame 4)"))
        // Every move is still a move event; the flap follows the fourth.
        #expect(core.events(since: 0).events.map(\.kind).filter { $0 != .learned }
            == [.moved, .moved, .moved, .moved, .flap, .moved, .moved])
        // A new window (more than 5 s after its first move) can report again.
        for n in 1...4 {
            _ = core.receive(frame(to: .broadcast, from: vm), on: PortID(n % 2 == 1 ? 2 : 1), at: 10 * second + UInt64(n) * second,
                             frameNumber: UInt64(10 + n))
        }
        #expect(core.events(since: 0).events.filter { $0.kind == .flap }.count == 2)
        #expect(core.macTable.statistics.flaps == 2)
        let snapshot = try #require(core.eventSnapshots(since: 0).events.first { $0.kind == .flap })
        #expect(snapshot.moves == 4 && snapshot.spanNs == 750_000_000 && snapshot.rate == 5.33)
    }

    @Test func slowMovesAreNoFlap() throws {
        var core = try threePortSwitch(.init(macTable: .init(flapMoves: 4, flapWindow: 5 * second)))
        for n in 0...8 {  // a move every 2 s: never 4 within 5 s
            _ = core.receive(frame(to: .broadcast, from: vm), on: PortID(n % 2 + 1), at: UInt64(n) * 2 * second, frameNumber: UInt64(n))
        }
        #expect(!core.events(since: 0).events.contains { $0.kind == .flap })
    }

    @Test func portSecurityDropsOneMACTooManyAndSaysSoAtMostOncePerSecond() throws {
        var core = SwitchCore()
        try core.addPort(1, PortConfiguration(name: "client01", vlanMode: .access(10), security: PortSecurity(maximumMACs: 1)))
        try core.addPort(2, PortConfiguration(name: "uplink", vlanMode: .trunk(VLANSet([10]), native: nil)))
        #expect(core.receive(frame(to: .broadcast, from: a), on: 1, at: 0, frameNumber: 1).decision == .flood)
        let violation = core.receive(frame(to: .broadcast, from: b), on: 1, at: 1, frameNumber: 2)
        #expect(violation.decision == .drop(.securityViolation))
        let event = try #require(violation.event)
        #expect(event.kind == .securityViolation && event.mac == b && event.newPort == 1 && event.action == .drop && event.vlan == 10)
        #expect(event.description == "#1 t=1ns security violation 02:00:00:00:00:0b vlan 10 on p1: drop (frame 2)")
        #expect(core.receive(frame(to: .broadcast, from: b), on: 1, at: 2, frameNumber: 3).event == nil, "not another event within a second")
        #expect(core.receive(frame(to: .broadcast, from: mac(0x99)), on: 1, at: 3, frameNumber: 3).event == nil, "not for another address either")
        #expect(core.receive(frame(to: .broadcast, from: b), on: 1, at: 2 * second, frameNumber: 4).event?.kind == .securityViolation)
        // The allowed station keeps working, and the port stays up.
        #expect(core.receive(taggedFrame(to: a, from: c, vid: 10), on: 2, at: 3, frameNumber: 5).decision == .unicast(1))
        #expect(core.configuration(of: 1)?.isUp == true)
        #expect(core.counters(of: 1)?.rxDrops.securityViolation == 4)
        #expect(core.macTable.entry(for: b, vlan: 10, at: 3) == nil)
        // A station moving onto the full port is a violation too.
        #expect(core.receive(frame(to: .broadcast, from: c), on: 1, at: 4, frameNumber: 6).decision == .drop(.securityViolation))
        #expect(core.macTable.entry(for: c, vlan: 10, at: 4)?.port == 2)
    }

    @Test func withoutStickyALimitFreesUpWhenAnEntryAgesOut() throws {
        var core = SwitchCore(configuration: .init(macTable: .init(capacity: 16, agingTime: 10 * second)))
        try core.addPort(1, PortConfiguration(name: "p1", security: PortSecurity(maximumMACs: 1)))
        try core.addPort(2, PortConfiguration(name: "p2"))
        _ = core.receive(frame(to: .broadcast, from: a), on: 1, at: 0, frameNumber: 1)
        #expect(core.receive(frame(to: .broadcast, from: b), on: 1, at: 5 * second, frameNumber: 2).decision == .drop(.securityViolation))
        #expect(core.receive(frame(to: .broadcast, from: b), on: 1, at: 11 * second, frameNumber: 3).decision == .flood)
        #expect(core.macTable.entry(for: b, at: 11 * second)?.port == 1)
    }

    @Test func stickyEntriesNeverAgeSoTheLimitHolds() throws {
        var core = SwitchCore(configuration: .init(macTable: .init(capacity: 16, agingTime: 10 * second)))
        try core.addPort(1, PortConfiguration(name: "p1", security: PortSecurity(maximumMACs: 1, sticky: true)))
        try core.addPort(2, PortConfiguration(name: "p2"))
        _ = core.receive(frame(to: .broadcast, from: a), on: 1, at: 0, frameNumber: 1)
        _ = core.receive(frame(to: .broadcast, from: c), on: 2, at: 0, frameNumber: 2)
        #expect(core.expire(now: 100 * second).map(\.mac) == [c], "the sticky entry stays, the other ages out")
        #expect(core.macTable.entry(for: a, at: 100 * second)?.sticky == true)
        #expect(core.receive(frame(to: a, from: c), on: 2, at: 100 * second, frameNumber: 3).decision == .unicast(1))
        #expect(core.receive(frame(to: .broadcast, from: b), on: 1, at: 100 * second, frameNumber: 4).decision == .drop(.securityViolation))
        #expect(core.macTableSnapshot(at: 100 * second).first { $0.mac == a }?.sticky == true)
        // A flush clears sticky entries too: then another station may take the place.
        #expect(core.flush(port: 1) == 1)
        #expect(core.receive(frame(to: .broadcast, from: b), on: 1, at: 101 * second, frameNumber: 5).decision == .flood)
        #expect(core.macTable.invariantViolation() == nil)
    }

    @Test func shutTakesThePortDownUntilItIsSetUp() throws {
        var core = SwitchCore()
        try core.addPort(1, PortConfiguration(name: "client01", security: PortSecurity(maximumMACs: 1, violation: .shut)))
        try core.addPort(2, PortConfiguration(name: "p2"))
        try core.addPort(3, PortConfiguration(name: "p3"))
        _ = core.receive(frame(to: .broadcast, from: a), on: 1, at: 0, frameNumber: 1)
        let violation = core.receive(frame(to: .broadcast, from: b), on: 1, at: 1, frameNumber: 2)
        #expect(violation.decision == .drop(.securityViolation))
        #expect(violation.event?.action == .shut)
        #expect(core.isErrDisabled(1) && core.configuration(of: 1)?.isUp == false)
        #expect(core.receive(frame(to: .broadcast, from: a), on: 1, at: 2, frameNumber: 3).decision == .drop(.portDown))
        #expect(Array(core.floodTargets(from: 2)) == [3], "a shut port is out of the floods")
        #expect(core.portsSnapshot(at: 2).ports[0].state == "err-disabled")
        try core.setPort(1, up: true)
        #expect(!core.isErrDisabled(1))
        #expect(core.portsSnapshot(at: 3).ports[0].state == "up")
        #expect(core.receive(frame(to: .broadcast, from: a), on: 1, at: 3, frameNumber: 4).decision == .flood)
    }
}
