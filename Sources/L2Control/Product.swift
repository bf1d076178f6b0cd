/// The program's name and version, as `l2motion --version` prints it and captures record it
/// (pcapng's `shb_userappl`).
public enum Product {
    public static let name = "l2motion"
    public static let version = "0.3.0"
    public static var nameAndVersion: String { "\(name) \(version)" }
}
