/// Hand-written matchers for the GPT-2 family of split patterns, ported from the state machines
/// in llama.cpp's unicode.cpp so that segment boundaries agree with llama.cpp exactly.
///
/// Each splitter scans one segment `[a, b)` of a `ScalarText` and appends the end index of every
/// non-empty piece. Lookups past `b` see class 0 / `outOfRange`, as llama.cpp's do.
enum PatternSplitters {
    /// One split pass over the segment `[a, b)`, appending piece ends.
    typealias Step = @Sendable (ScalarText, Int, Int, inout [Int]) -> Void

    static let outOfRange: UInt32 = 0xFFFF_FFFF
    private static let L = ScalarClass.letter.rawValue
    private static let N = ScalarClass.number.rawValue
    private static let W = ScalarClass.whitespace.rawValue

    @inline(__always)
    private static func lower(_ c: UInt32) -> UInt32 { (c >= 0x41 && c <= 0x5A) ? c + 32 : c }

    /// `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,k}
    /// | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` — llama3 (k = 3) and qwen2 (k = 1).
    /// Contractions are case-insensitive; only ASCII letters lowercase to the letters involved.
    static func llama3(_ t: ScalarText, _ a: Int, _ b: Int, maxDigits: Int, _ out: inout [Int]) {
        t.scalars.withUnsafeBufferPointer { s in
            t.classes.withUnsafeBufferPointer { c in
                @inline(__always) func cpt(_ p: Int) -> UInt32 { p < b ? s[p] : outOfRange }
                @inline(__always) func cls(_ p: Int) -> UInt8 { p < b ? c[p] : 0 }
                var pos = a
                @inline(__always) func emit(_ end: Int) { if end > pos { out.append(end) }; pos = end }

                while pos < b {
                    let cp = s[pos], f = c[pos]

                    if cp == 0x27, pos + 1 < b {  // '
                        let n1 = lower(s[pos + 1])
                        if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 { emit(pos + 2); continue }  // s t m d
                        if pos + 2 < b {
                            let n2 = lower(s[pos + 2])
                            if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                                emit(pos + 3); continue  // re ve ll
                            }
                        }
                    }

                    // [^\r\n\p{L}\p{N}]?\p{L}+
                    if !(cp == 0x0D || cp == 0x0A || f & N != 0), f & L != 0 || cls(pos + 1) & L != 0 {
                        var e = pos + 1
                        while cls(e) & L != 0 { e += 1 }
                        emit(e); continue
                    }

                    // \p{N}{1,k}
                    if f & N != 0 {
                        var e = pos
                        while cls(e) & N != 0 {
                            e += 1
                            if e - pos >= maxDigits { emit(e) }
                        }
                        emit(e); continue
                    }

                    // ' '?[^\s\p{L}\p{N}]+[\r\n]*
                    var f2 = cp == 0x20 ? cls(pos + 1) : f
                    if f2 & (W | L | N) == 0, f != 0 {
                        var e = pos + (cp == 0x20 ? 1 : 0)
                        while f2 & (W | L | N) == 0, f2 != 0 { e += 1; f2 = cls(e) }
                        while cpt(e) == 0x0D || cpt(e) == 0x0A { e += 1 }
                        emit(e); continue
                    }

                    var spaces = 0, lastNewlineEnd = 0
                    while cls(pos + spaces) & W != 0 {
                        let c2 = cpt(pos + spaces)
                        if c2 == 0x0D || c2 == 0x0A { lastNewlineEnd = pos + spaces + 1 }
                        spaces += 1
                    }
                    if lastNewlineEnd > 0 { emit(lastNewlineEnd); continue }                              // \s*[\r\n]+
                    if spaces > 1, cpt(pos + spaces) != outOfRange { emit(pos + spaces - 1); continue }   // \s+(?!\S)
                    if spaces > 0 { emit(pos + spaces); continue }                                        // \s+
                    emit(pos + 1)
                }
            }
        }
    }

    /// GPT-2's `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    /// (case-sensitive contractions; a space attaches to the following run).
    static func gpt2(_ t: ScalarText, _ a: Int, _ b: Int, _ out: inout [Int]) {
        t.scalars.withUnsafeBufferPointer { s in
            t.classes.withUnsafeBufferPointer { c in
                @inline(__always) func cpt(_ p: Int) -> UInt32 { p < b ? s[p] : outOfRange }
                @inline(__always) func cls(_ p: Int) -> UInt8 { p < b ? c[p] : 0 }
                var pos = a
                @inline(__always) func emit(_ end: Int) { if end > pos { out.append(end) }; pos = end }

                while pos < b {
                    let cp = s[pos], f = c[pos]

                    if cp == 0x27, pos + 1 < b {
                        let n1 = s[pos + 1]
                        if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 { emit(pos + 2); continue }
                        if pos + 2 < b {
                            let n2 = s[pos + 2]
                            if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                                emit(pos + 3); continue
                            }
                        }
                    }

                    let lead = cp == 0x20 ? 1 : 0
                    let f2 = cp == 0x20 ? cls(pos + 1) : f
                    if f2 & L != 0 || f2 & N != 0 {  // ' '?\p{L}+ and ' '?\p{N}+
                        let run = f2 & L != 0 ? L : N
                        var e = pos + lead
                        while cls(e) & run != 0 { e += 1 }
                        emit(e); continue
                    }
                    if f2 & (W | L | N) == 0, f2 != 0 {  // ' '?[^\s\p{L}\p{N}]+
                        var e = pos + lead
                        while cls(e) & (W | L | N) == 0, cls(e) != 0 { e += 1 }
                        emit(e); continue
                    }

                    var spaces = 0
                    while cls(pos + spaces) & W != 0 { spaces += 1 }
                    if spaces > 1, cpt(pos + spaces) != outOfRange { emit(pos + spaces - 1); continue }  // \s+(?!\S)
                    if spaces > 0 { emit(pos + spaces); continue }
                    emit(pos + 1)
                }
            }
        }
    }

    /// Splits a segment around every match of an anchored matcher, keeping the text between
    /// matches as pieces of its own — llama.cpp's std::regex fallback (leftmost-first search).
    /// `match(p)` returns the end of a match starting at `p`, or nil.
    @inline(__always)
    static func isolate(_ a: Int, _ b: Int, _ out: inout [Int], match: (Int) -> Int?) {
        var gapStart = a
        var p = a
        while p < b {
            if let e = match(p) {
                if p > gapStart { out.append(p) }
                out.append(e)
                p = e
                gapStart = e
            } else {
                p += 1
            }
        }
        if b > gapStart { out.append(b) }
    }

    /// `\p{N}`: each number scalar becomes a piece of its own (SmolLM's first split).
    static func eachNumber(_ t: ScalarText, _ a: Int, _ b: Int, _ out: inout [Int]) {
        t.classes.withUnsafeBufferPointer { c in
            isolate(a, b, &out) { p in c[p] & N != 0 ? p + 1 : nil }
        }
    }
}
