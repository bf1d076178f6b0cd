import ArgumentParser
import Testing
@testable import l2motion
import L2Control

@Suite("--announce-ipv6 na|none")
struct AnnounceIPv6FlagTests {
    static func mode(_ arguments: [String]) throws -> IPv6AnnounceMode {
        let command = try L2Motion.parseAsRoot(arguments)
        let flags = try #require((command as? MigrateCommand)?.flags ?? (command as? DemoCommand)?.flags)
        return try flags.options().announceIPv6
    }

    @Test("na by default on migrate and demo; none turns the NAs off; anything else is refused",
          arguments: [NumericOption.migrate, NumericOption.demo])
    func parses(verb: [String]) throws {
        #expect(try Self.mode(verb) == .na)
        #expect(try Self.mode(verb + ["--announce-ipv6", "none"]) == IPv6AnnounceMode.none)
        #expect(try Self.mode(verb + ["--announce-ipv6", "na"]) == .na)
        #expect(throws: (any Error).self) { try L2Motion.parseAsRoot(verb + ["--announce-ipv6", "rarp"]) }
    }
}
