import ArgumentParser
import Testing
@testable import l2motion

@Suite("machine-relay's options")
struct MachineRelayOptionTests {
    @Test func aLabPartIsRequiredAndParsed() throws {
        let command = try #require(try L2Motion.parseAsRoot(["machine-relay", "--lab", "xm-b"]) as? MachineRelayCommand)
        #expect(command.lab == "xm-b")
        #expect(refusal(["machine-relay"])?.contains("--lab") == true)
    }

    @Test(arguments: ["../x", "a/b", "xm b", "", "ésx"])
    func aLabPartThatIsNotAPlainNameIsRefused(lab: String) {
        #expect(refusal(["machine-relay", "--lab", lab]) == "lab part \"\(lab)\" must be ASCII letters, digits, - or _")
    }

    @Test func aLabPartTooLongForTheSocketPathIsRefused() {
        let lab = String(repeating: "x", count: 81)  // 80 fits: 107 bytes
        #expect(refusal(["machine-relay", "--lab", lab])
                == "the relay socket /run/l2motion/\(lab)/machine.sock is 108 bytes; a Unix socket path must be under 108: use a shorter lab name")
        #expect(refusal(["machine-relay", "--lab", String(repeating: "x", count: 80)]) == nil)
    }
}
