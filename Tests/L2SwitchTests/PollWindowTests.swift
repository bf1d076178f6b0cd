import L2Switch
import Testing

@Suite("PollWindow")
struct PollWindowTests {
    @Test("starts shut, so the first wait always sleeps")
    func startsShut() {
        let window = PollWindow(maximumNanoseconds: 200_000)
        #expect(window.current == 0)
        #expect(!window.keepsPolling(idleNanoseconds: 0))
    }

    @Test("short waits open it from 4 µs, doubling up to the maximum")
    func growsToMaximum() {
        var window = PollWindow(maximumNanoseconds: 50_000)
        var seen: [UInt64] = []
        for _ in 0..<6 {
            window.observe(idleNanoseconds: 40_000)
            seen.append(window.current)
        }
        // 4, 8, 16, 32 µs still shorter than the 40 µs waits, so each grows; 64 is capped at 50.
        #expect(seen == [4_000, 8_000, 16_000, 32_000, 50_000, 50_000])
        #expect(window.keepsPolling(idleNanoseconds: 49_999))
        #expect(!window.keepsPolling(idleNanoseconds: 50_000))
    }

    @Test("a wait the window covered leaves it as it is")
    func coveredWaitKeepsWindow() {
        var window = PollWindow(maximumNanoseconds: 200_000)
        window.observe(idleNanoseconds: 100_000)
        window.observe(idleNanoseconds: 100_000)
        #expect(window.current == 8_000)
        window.observe(idleNanoseconds: 3_000)
        window.observe(idleNanoseconds: 8_000)
        #expect(window.current == 8_000)
    }

    @Test("a wait longer than the maximum halves it, and below 4 µs it shuts: a ping every millisecond shuts it")
    func longWaitHalves() {
        var window = PollWindow(maximumNanoseconds: 200_000)
        for _ in 0..<10 { window.observe(idleNanoseconds: 20_000) }
        #expect(window.current == 32_000)
        var seen: [UInt64] = []
        for _ in 0..<4 {
            window.observe(idleNanoseconds: 200_001)
            seen.append(window.current)
        }
        #expect(seen == [16_000, 8_000, 4_000, 0])
        for _ in 0..<100 { window.observe(idleNanoseconds: 1_000_000) }
        #expect(window.current == 0)
    }

    @Test("a stream with an occasional long pause keeps most of its window")
    func occasionalPause() {
        var window = PollWindow(maximumNanoseconds: 200_000)
        for _ in 0..<8 { window.observe(idleNanoseconds: 150_000) }
        #expect(window.current == 200_000)
        window.observe(idleNanoseconds: 5_000_000)
        #expect(window.current == 100_000)
        #expect(window.keepsPolling(idleNanoseconds: 60_000))
        window.observe(idleNanoseconds: 150_000)
        #expect(window.current == 200_000)
    }

    @Test("a maximum of 0 never opens, and one below 4 µs caps the first window")
    func smallMaximums() {
        var off = PollWindow(maximumNanoseconds: 0)
        off.observe(idleNanoseconds: 0)
        off.observe(idleNanoseconds: 1)
        #expect(off.current == 0)
        var tiny = PollWindow(maximumNanoseconds: 3_000)
        tiny.observe(idleNanoseconds: 2_000)
        #expect(tiny.current == 3_000)
    }

    @Test("the largest maximum grows to it without overflowing")
    func hugeMaximum() {
        var window = PollWindow(maximumNanoseconds: .max)
        for _ in 0..<70 { window.observe(idleNanoseconds: .max) }
        #expect(window.current == .max)
        #expect(window.keepsPolling(idleNanoseconds: .max - 1))
    }
}
