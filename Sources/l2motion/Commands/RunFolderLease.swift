import Foundation
import L2Control

/// A daemon started on its own (not by `lab up`) makes its lab's run folder, and `/run/l2motion`, if
/// they are missing, and removes them again when it ends if it made them and they are empty: a lab's
/// folder stays the lab's, and no empty folder is left behind.
struct RunFolderLease {
    private let made: [String]

    init(_ folder: RunFolder) throws {
        let missing = [folder.path, RunFolder.root].filter { !FileManager.default.fileExists(atPath: $0) }
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        made = missing
    }

    /// Removes what this lease made, if it is empty (the folder first, then `/run/l2motion`).
    func release() {
        for path in made where (try? FileManager.default.contentsOfDirectory(atPath: path))?.isEmpty == true {
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}
