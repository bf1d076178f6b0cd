import ArgumentParser
import Testing
@testable import l2motion

/// The migration options of `migrate` (and `demo`, which shares them) as parsed from a command line.
func migrationOptions(_ arguments: [String]) throws -> (announce: [Int], drop: Int, skipMTU: Bool, graceMs: Double) {
    let command = try L2Motion.parseAsRoot(arguments)
    let flags = try #require((command as? MigrateCommand)?.flags ?? (command as? DemoCommand)?.flags)
    let options = try flags.options()
    return (options.announceMs, options.dropAnnounces, options.skipMTUCheck, options.graceMs)
}

@Suite("--announce none, --drop-announces N, --skip-mtu-check")
struct AnnounceFlagTests {
    @Test(arguments: [NumericOption.migrate, NumericOption.demo])
    func theKnobsParse(verb: [String]) throws {
        let defaults = try migrationOptions(verb)
        #expect(defaults.announce == [0, 50, 200, 450, 800] && defaults.drop == 0 && !defaults.skipMTU)
        #expect(try migrationOptions(verb + ["--announce", "none"]).announce == [])
        let dropping = try migrationOptions(verb + ["--drop-announces", "2", "--skip-mtu-check"])
        #expect(dropping.drop == 2 && dropping.skipMTU)
        #expect(try migrationOptions(verb + ["--announce", "0,100", "--drop-announces", "2"]).drop == 2, "every announce may be dropped")
    }

    @Test("--grace-ms: 2000 by default, 0 forwards nothing, out of range refused", arguments: [NumericOption.migrate, NumericOption.demo])
    func grace(verb: [String]) throws {
        #expect(try migrationOptions(verb).graceMs == 2000)
        #expect(try migrationOptions(verb + ["--grace-ms", "0"]).graceMs == 0)
        #expect(refusal(verb + ["--grace-ms", "60001"])?.contains("grace-ms") == true)
    }

    @Test(arguments: [NumericOption.migrate, NumericOption.demo])
    func whatCannotBeIsRefused(verb: [String]) {
        #expect(refusal(verb + ["--drop-announces", "6"])
                == "--drop-announces 6 is more than the 5 announces of --announce 0,50,200,450,800")
        #expect(refusal(verb + ["--announce", "0,50", "--drop-announces", "3"])
                == "--drop-announces 3 is more than the 2 announces of --announce 0,50")
        #expect(refusal(verb + ["--announce", "none", "--drop-announces", "1"])
                == "--drop-announces 1 has nothing to drop: --announce none sends no announce")
        #expect(refusal(verb + ["--announce", "none", "--garp"])
                == "--garp goes out with the first RARP, and --announce none sends none; drop one of them")
        #expect(refusal(verb + ["--announce", "None"])
                == "--announce must be whole milliseconds separated by commas, like 0,50,200,450,800, or none, not \"None\"")
        #expect(refusal(verb + ["--announce", ""])?.contains("--announce") == true)
        #expect(refusal(verb + ["--drop-announces=-1"])
                == "--drop-announces must be a whole number of announces between 0 and 100, not -1")
    }
}
