/// The files `datastore-mark` may create or remove in a datastore: plain names that start with
/// `.l2motion-probe-`, so a host never writes or deletes anything else (a VM's files) for a caller.
public enum DatastoreMark {
    /// Every mark's name starts with this.
    public static let prefix = ".l2motion-probe-"
    /// The longest name a directory entry holds (NAME_MAX).
    public static let maximumBytes = 255

    /// Checks `file`; the `invalid-argument` error says what a mark's name looks like.
    public static func check(_ file: String) throws(ControlError) {
        guard file.hasPrefix(prefix), !file.contains("/"), !file.utf8.contains(0), file.utf8.count <= maximumBytes else {
            throw ControlError(.invalidArgument, "datastore mark \"\(file)\" refused: a mark is a plain file name (no /, at most \(maximumBytes) bytes) starting with \(prefix)")
        }
    }
}
