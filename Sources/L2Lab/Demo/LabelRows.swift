/// Places text labels of a chart in rows so that none overlaps another: each label goes into the
/// first row where its estimated extent (characters × `characterWidth`) is free.
struct LabelRows {
    let characterWidth: Double
    private var rows: [[ClosedRange<Double>]] = []

    init(characterWidth: Double) { self.characterWidth = characterWidth }

    /// The row (0 first) for `text` starting at `x`.
    mutating func place(x: Double, text: String) -> Int {
        let extent = x...(x + Double(text.count) * characterWidth)
        for index in rows.indices where !rows[index].contains(where: { $0.overlaps(extent) }) {
            rows[index].append(extent)
            return index
        }
        rows.append([extent])
        return rows.count - 1
    }
}
