/// Conversions from user units to nanoseconds that cannot trap: a value that is not finite or out of
/// `UInt64`'s range saturates (0 or `UInt64.max`) instead. Values reach them range-checked by
/// `Limits`; this is the second line, so that no conversion in a daemon can take a process down.
public enum Nanoseconds {
    public static func from(milliseconds value: Double) -> UInt64 { saturating(value * 1e6) }
    public static func from(seconds value: Double) -> UInt64 { saturating(value * 1e9) }

    static func saturating(_ value: Double) -> UInt64 {
        guard value.isFinite, value > 0 else { return value == .infinity ? .max : 0 }
        return value >= 0x1p64 ? .max : UInt64(value)
    }
}
