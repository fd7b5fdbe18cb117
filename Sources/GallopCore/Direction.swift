/// Which side of a metric is better.
public enum Direction: String, Sendable, Codable {
    case higher, lower, none

    public var arrow: String {
        switch self {
        case .higher: return "↑"
        case .lower: return "↓"
        case .none: return "·"
        }
    }
}
