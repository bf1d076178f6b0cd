import L2Control
import Testing

@Suite("The names datastore-mark accepts")
struct DatastoreMarkTests {
    @Test(arguments: [".l2motion-probe-1", ".l2motion-probe-" + String(repeating: "9", count: 239)])
    func datastoreMarkNames(file: String) throws {
        try DatastoreMark.check(file)
    }

    @Test(arguments: ["", "probe", ".l2motion-probe", "web01.json", ".l2motion-probe-/../web01.json", "../.l2motion-probe-1",
                      ".l2motion-probe-" + String(repeating: "9", count: 240)])
    func datastoreMarkRefusals(file: String) {
        let error = #expect(throws: ControlError.self) { try DatastoreMark.check(file) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.hasPrefix("datastore mark \"\(file)\" refused: a mark is a plain file name") == true)
    }
}
