import L2Control
import Testing

@Suite("Numeric limits refuse what would trap and say what to type")
struct LimitTests {
    static let hostile: [Double] = [.infinity, -.infinity, .nan, 1e20, -1, -1e-9]

    @Test(arguments: [Limits.downtime, Limits.switchoverShare, Limits.maxRounds, Limits.maxSeconds, Limits.announceMs,
                      Limits.graceMs, Limits.stallSeconds, Limits.holdMs, Limits.vmMemory, Limits.vmTouched,
                      Limits.pingInterval, Limits.pingSeconds, Limits.snaplen, Limits.agingSeconds,
                      Limits.busyPollMicroseconds, Limits.macTableCapacity, Limits.mtu, Limits.migrationPort,
                      Limits.hostMemory, Limits.runs, Limits.dirtyRate, Limits.streams])
    func everyLimitRefusesHostileValues(limit: NumericLimit) {
        for value in Self.hostile {
            #expect(throws: ConfigurationError.self, "\(limit.name) accepted \(value)") { try limit.check(value) }
        }
        #expect(throws: Never.self) { try limit.check(limit.range.lowerBound) }
        #expect(throws: Never.self) { try limit.check(limit.range.upperBound) }
    }

    @Test func messagesNameTheOptionTheUnitAndTheRange() {
        #expect(throws: ConfigurationError("--downtime must be a finite number of milliseconds between 0.01 and 100000, not inf")) {
            try Limits.downtime.check(.infinity)
        }
        #expect(throws: ConfigurationError("--downtime must be a finite number of milliseconds between 0.01 and 100000, not nan")) {
            try Limits.downtime.check(.nan)
        }
        #expect(throws: ConfigurationError("--max-rounds must be a whole number of rounds between 1 and 10000, not 2.5")) {
            try Limits.maxRounds.check(2.5)
        }
        #expect(throws: ConfigurationError("memory_mib must be a whole number of MiB between 1 and 1048576, not 0")) {
            try Limits.vmMemory.named("memory_mib").check(0)
        }
    }

    @Test func conversionsSaturateInsteadOfTrapping() {
        #expect(Nanoseconds.from(milliseconds: 300) == 300_000_000)
        #expect(Nanoseconds.from(seconds: 1e20) == .max)
        #expect(Nanoseconds.from(milliseconds: .infinity) == .max)
        #expect(Nanoseconds.from(milliseconds: .nan) == 0)
        #expect(Nanoseconds.from(seconds: -5) == 0)
    }
}
