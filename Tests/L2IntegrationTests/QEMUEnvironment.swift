import Foundation
import L2Edge

/// What the QEMU tests need on top of `RootEnvironment`: qemu-system-x86_64 and the test guest
/// (kernel + initramfs built by `scripts/qemu-guest`, which this builds on first use). Outside CI a
/// missing QEMU disables the suites; under `CI=true` they run and fail loudly.
enum QEMUEnvironment {
    static let qemuBinary = "qemu-system-x86_64"

    static var missing: [String] {
        var problems = RootEnvironment.missing
        if executableOnPath(qemuBinary) == nil {
            problems.append("\(qemuBinary) is not installed (apt-get install --no-install-recommends qemu-system-x86, or run scripts/qemu-guest)")
        }
        return problems
    }

    /// Run the suites when everything is there, and always under CI (where `require()` then fails).
    static var shouldRun: Bool { RootEnvironment.isCI || missing.isEmpty }

    /// Fails the test with the list of what is missing.
    static func require() throws {
        let problems = missing
        guard problems.isEmpty else {
            throw RootEnvironmentError(message: "QEMU test cannot run: " + problems.joined(separator: "; "))
        }
    }

    /// The guest's files, built by `scripts/qemu-guest` if the cache is missing or older than the script.
    static func guestImage() throws -> QEMUGuestImage {
        try buildLock.withLock {
            if let cached = builtImage { return cached }
            let script = RootEnvironment.packageRoot + "/scripts/qemu-guest"
            do {
                _ = try CommandRunner.run([script])
            } catch let error as CommandError {
                throw RootEnvironmentError(message: "scripts/qemu-guest could not build the test guest (exit \(error.status)): "
                                           + error.standardError.suffix(2000))
            }
            let image = QEMUGuestImage(directory: RootEnvironment.packageRoot + "/.build/qemu-guest")
            for path in [image.initrd, image.kernel] where !FileManager.default.fileExists(atPath: path) {
                throw RootEnvironmentError(message: "scripts/qemu-guest ran but \(path) is missing; run it by hand to see why")
            }
            builtImage = image
            return image
        }
    }

    private static let buildLock = NSLock()
    nonisolated(unsafe) private static var builtImage: QEMUGuestImage?

    static func executableOnPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// The test guest's kernel and initramfs (see `scripts/qemu-guest`).
struct QEMUGuestImage: Sendable {
    let directory: String

    /// The uncompressed PVH kernel when the script could extract it (boots in about 2 s under TCG
    /// instead of 5 s), else the bzImage.
    var kernel: String {
        let uncompressed = directory + "/vmlinux"
        return FileManager.default.fileExists(atPath: uncompressed) ? uncompressed : directory + "/vmlinuz"
    }

    var initrd: String { directory + "/initramfs.gz" }
}
