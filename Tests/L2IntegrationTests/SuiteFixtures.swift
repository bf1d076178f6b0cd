import Foundation
import Testing

/// Something expensive a whole suite shares (booted QEMU guests and the namespace they sit in),
/// torn down once when the suite ends.
protocol SuiteFixture: AnyObject {
    func tearDown()
}

/// The fixtures of the running suite: each built on first use by whichever test needs it first,
/// then handed to every later test of the suite, and torn down (newest first) when the suite ends.
/// This is how the QEMU suites boot a guest once per run instead of once per test case.
/// A fixture that failed to build fails every test that asks for it, with the same error, without
/// a second attempt. Attach `.suiteFixtures` to the suite; tests call `SuiteFixtures.shared(...)`.
final class SuiteFixtures: @unchecked Sendable {
    @TaskLocal static var current: SuiteFixtures?

    private let lock = NSRecursiveLock()
    private var built: [String: Result<any SuiteFixture, any Error>] = [:]
    private var order: [any SuiteFixture] = []

    /// The fixture stored under `key` in the running suite, built with `make` if no test built it yet.
    static func shared<Fixture: SuiteFixture>(_ key: String, _ make: () throws -> Fixture) throws -> Fixture {
        guard let fixtures = current else {
            throw RootEnvironmentError(message: "SuiteFixtures.shared(\"\(key)\") outside a suite with the .suiteFixtures trait; add it to the @Suite")
        }
        return try fixtures.fixture(key, make)
    }

    func fixture<Fixture: SuiteFixture>(_ key: String, _ make: () throws -> Fixture) throws -> Fixture {
        try lock.withLock {
            let result: Result<any SuiteFixture, any Error>
            if let existing = built[key] {
                result = existing
            } else {
                do {
                    let made = try make()
                    order.append(made)
                    result = .success(made)
                } catch {
                    result = .failure(error)
                }
                built[key] = result
            }
            guard let fixture = try result.get() as? Fixture else {
                throw RootEnvironmentError(message: "suite fixture \"\(key)\" is a \(type(of: try result.get())), not a \(Fixture.self)")
            }
            return fixture
        }
    }

    /// Tears every built fixture down, newest first.
    func tearDown() {
        let fixtures = lock.withLock { () -> [any SuiteFixture] in
            defer { order.removeAll(); built.removeAll() }
            return order
        }
        for fixture in fixtures.reversed() { fixture.tearDown() }
    }
}

/// Gives a suite its own `SuiteFixtures` for the length of the suite and tears them down after its
/// last test, whether the tests passed, failed or threw.
struct SuiteFixturesTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        test.isSuite ? self : nil
    }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let fixtures = SuiteFixtures()
        defer { fixtures.tearDown() }
        try await SuiteFixtures.$current.withValue(fixtures) {
            try await function()
        }
    }
}

extension Trait where Self == SuiteFixturesTrait {
    /// Fixtures shared by the tests of this suite and torn down when it ends (see `SuiteFixtures`).
    static var suiteFixtures: Self { SuiteFixturesTrait() }
}
