// Format: the one place numbers, shapes, sizes and durations become text, so every command writes them alike.
// Relies on nothing but the standard library (no Foundation formatters).

/// Text for shapes, byte counts, durations and fixed-point numbers.
public enum Format {
    /// A shape as Python writes a tuple: `()`, `(5,)`, `(2, 3)`.
    public static func shape(_ shape: [Int]) -> String {
        "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
    }

    /// `value` with exactly `digits` decimals (rounded half away from zero), without Foundation.
    public static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        var fraction = String(Int(scaled - Double(whole) * scale))
        fraction = String(repeating: "0", count: max(0, digits - fraction.count)) + fraction
        return (value < 0 && scaled > 0 ? "-" : "") + "\(whole)" + (digits > 0 ? "." + fraction : "")
    }

    /// Seconds with three decimals: `0.125 s`.
    public static func seconds(_ value: Double) -> String { fixed(value, 3) + " s" }

    /// A count with its noun in singular or plural: `1 element`, `2 elements`.
    public static func count(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(n) " + (n == 1 ? singular : plural ?? singular + "s")
    }

    /// A duration as h:mm:ss, or m:ss under an hour (progress lines, ETAs).
    public static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.up))
        let two = { (v: Int) in v < 10 ? "0\(v)" : "\(v)" }
        return s >= 3600 ? "\(s / 3600):\(two(s / 60 % 60)):\(two(s % 60))" : "\(s / 60):\(two(s % 60))"
    }

    /// A byte count in decimal units with one decimal: `512 B`, `1.5 kB`, `256.0 MB`.
    public static func bytes(_ n: Int) -> String {
        let units: [(Double, String)] = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
        for (scale, unit) in units where Double(n) >= scale { return "\(fixed(Double(n) / scale, 1)) \(unit)" }
        return "\(n) B"
    }
}
