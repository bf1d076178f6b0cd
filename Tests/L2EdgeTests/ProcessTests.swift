import Foundation
import L2Edge
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("ChildProcess, CommandRunner and SystemError")
struct ProcessTests {
    @Test func exitStatusAndLoggedOutput() throws {
        try withTemporaryDirectory { directory throws in
            let log = "\(directory)/child.log"
            let child = try ChildProcess(["/bin/sh", "-c", "echo hi; echo oops >&2; exit 3"], logPath: log)
            #expect(child.pid > 0)
            #expect(child.wait() == 3)
            #expect(child.exitStatus == 3)
            #expect(!child.isRunning)
            #expect(try String(contentsOfFile: log, encoding: .utf8) == "hi\noops\n")
        }
    }

    @Test func logIsAppendedNotTruncated() throws {
        try withTemporaryDirectory { directory throws in
            let log = "\(directory)/child.log"
            #expect(try ChildProcess(["echo", "first"], logPath: log).wait() == 0)
            #expect(try ChildProcess(["echo", "second"], logPath: log).wait() == 0)
            #expect(try String(contentsOfFile: log, encoding: .utf8) == "first\nsecond\n")
        }
    }

    @Test func terminateEndsALongRunningChild() throws {
        let child = try ChildProcess(["sleep", "30"])
        #expect(child.exitStatus == nil)
        #expect(child.isRunning)
        child.terminate()
        #expect(child.exitStatus == 128 + SIGTERM)
        #expect(!child.isRunning)
        #expect(child.wait() == 128 + SIGTERM)
    }

    @Test func signalReportsTheSignalNumber() throws {
        let child = try ChildProcess(["sleep", "30"])
        child.signal(SIGKILL)
        #expect(child.wait() == 128 + SIGKILL)
    }

    @Test func missingProgramThrowsWithTheReason() {
        let error = #expect(throws: SystemError.self) { try ChildProcess(["/nonexistent/l2m-no-such-program"]) }
        #expect(error?.description == "start /nonexistent/l2m-no-such-program: No such file or directory")
    }

    @Test func unopenableLogThrows() {
        let error = #expect(throws: SystemError.self) { try ChildProcess(["true"], logPath: "/nonexistent/dir/x.log") }
        #expect(error?.call == "open log")
        #expect(error?.errno == ENOENT)
    }

    @Test func systemErrorDescriptionCarriesStrerror() {
        #expect(SystemError("open", "/dev/net/tun", errno: EACCES).description == "open /dev/net/tun: Permission denied")
        #expect(SystemError("socket(AF_UNIX)", errno: EMFILE).description == "socket(AF_UNIX): Too many open files")
        #expect(SystemError("bind", errno: EADDRINUSE).description.hasSuffix(String(cString: strerror(EADDRINUSE))))
    }

    @Test func commandRunnerReturnsOutputOrStderrWithTheStatus() throws {
        #expect(try CommandRunner.run(["printf", "a\\nb\\n"]) == "a\nb\n")
        let error = #expect(throws: CommandError.self) { try CommandRunner.run(["sh", "-c", "echo partial; echo 'it broke' >&2; exit 4"]) }
        #expect(error?.status == 4)
        #expect(error?.description == "`sh -c echo partial; echo 'it broke' >&2; exit 4` failed (exit 4): it broke")
        #expect(!CommandRunner.succeeds(["false"]))
        #expect(CommandRunner.succeeds(["true"]))
    }
}
