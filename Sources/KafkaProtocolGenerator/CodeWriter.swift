// Indented Swift source text, plus the small expression helpers every emitter needs.

struct CodeWriter {
    private(set) var text = ""
    private var depth = 0

    mutating func line(_ content: String = "") {
        if content.isEmpty {
            text += "\n"
        } else {
            text += String(repeating: "    ", count: depth) + content + "\n"
        }
    }

    /// Writes `header {`, the body one level deeper, then `}`.
    mutating func block(_ header: String, _ body: (inout CodeWriter) -> Void) {
        line(header + " {")
        depth += 1
        body(&self)
        depth -= 1
        line("}")
    }

    /// Writes the body under `if condition`, or unconditionally when the condition is `true`,
    /// or not at all when it is `false`.
    mutating func guarded(_ condition: String, _ body: (inout CodeWriter) -> Void) {
        switch condition {
        case "false": return
        case "true": body(&self)
        default: block("if \(condition)", body)
        }
    }

    mutating func doc(_ about: String?) {
        guard let about, !about.isEmpty else { return }
        line("/// " + Naming.docText(about))
    }
}

enum Expr {
    /// `a && b` over generated conditions, folding the literals `true` and `false`.
    static func and(_ a: String, _ b: String) -> String {
        if a == "false" || b == "false" { return "false" }
        if a == "true" { return b }
        if b == "true" { return a }
        return "\(parenthesised(a)) && \(parenthesised(b))"
    }

    static func parenthesised(_ condition: String) -> String {
        condition.contains("||") ? "(\(condition))" : condition
    }
}
