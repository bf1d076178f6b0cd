/// Which TCP services a VM runs, by its workload preset: every VM answers echo (7); `web` adds
/// HTTP (80); `db` adds Redis (6379) and HTTP (its status page). A customised preset (`web+custom`)
/// counts as its base; a custom workload (nil) and `idle` run echo only.
public enum VMServices {
    public static func services(forWorkload preset: String?) -> [any TCPService] {
        let base = preset.map { String($0.prefix { $0 != "+" }) }
        switch base {
        case "web": return [EchoService(), HTTPService()]
        case "db": return [EchoService(), HTTPService(), RedisService()]
        default: return [EchoService()]
        }
    }

    /// The services as `name/port` (`echo/7`, `http/80`), for listings of a VM not running here
    /// (a running VM says it itself: `VirtualMachine.serviceNames`).
    public static func names(forWorkload preset: String?) -> [String] {
        services(forWorkload: preset).map { "\($0.name)/\($0.port)" }
    }
}
