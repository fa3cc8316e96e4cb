/// The six-step split of `deepseek-llm`, whose patterns llama.cpp runs through std::regex one
/// after another, each one re-splitting every piece the previous step produced:
///
///     [\r\n]
///     \s?[A-Za-zµÀ-ÖØ-öø-ƺ…𞤀-𞥃]+        (cased letters of Latin, Greek, Cyrillic, …)
///     \s?[!-/:-~！-／：-～‘-‟　-。]+
///     \s+$
///     [一-龥ࠀ-一가-퟿]+
///     \p{N}+
///
/// Before matching, llama.cpp replaces every non-ASCII whitespace scalar with U+000B (so that
/// `\s` sees it); as a consequence those scalars never match a bracket class that lists them
/// (U+3000 in step 3, U+1680/U+2000…/U+3000 inside step 5's U+0800–U+4E00). We do the same.
enum DeepSeekSplitter {
    typealias Ranges = [(UInt32, UInt32)]

    /// Step 2's class, code point for code point as in llama-vocab.cpp.
    static let letters: Ranges = [
        (0x41, 0x5A), (0x61, 0x7A), (0xB5, 0xB5), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x1BA),
        (0x1BC, 0x1BF), (0x1C4, 0x293), (0x295, 0x2AF), (0x370, 0x373), (0x376, 0x376), (0x377, 0x377),
        (0x37B, 0x37D), (0x37F, 0x37F), (0x386, 0x386), (0x388, 0x38A), (0x38C, 0x38C), (0x38E, 0x3A1),
        (0x3A3, 0x3F5), (0x3F7, 0x481), (0x48A, 0x52F), (0x531, 0x556), (0x10A0, 0x10C5), (0x13A0, 0x13F5),
        (0x13F8, 0x13FD), (0x1C90, 0x1CBA), (0x1CBD, 0x1CBF), (0x1D00, 0x1D2B), (0x1D6B, 0x1D77), (0x1D79, 0x1D9A),
        (0x1E00, 0x1F15), (0x1F18, 0x1F1D), (0x1F20, 0x1F45), (0x1F48, 0x1F4D), (0x1F50, 0x1F57), (0x1F59, 0x1F59),
        (0x1F5B, 0x1F5B), (0x1F5D, 0x1F5D), (0x1F5F, 0x1F7D), (0x1F80, 0x1FB4), (0x1FB6, 0x1FBC), (0x1FBE, 0x1FBE),
        (0x1FC2, 0x1FC4), (0x1FC6, 0x1FCC), (0x1FD0, 0x1FD3), (0x1FD6, 0x1FDB), (0x1FE0, 0x1FEC), (0x1FF2, 0x1FF4),
        (0x1FF6, 0x1FFC), (0x2102, 0x2102), (0x2107, 0x2107), (0x210A, 0x2113), (0x2115, 0x2115), (0x2119, 0x211D),
        (0x2124, 0x2124), (0x2126, 0x2126), (0x2128, 0x2128), (0x212A, 0x212D), (0x212F, 0x2134), (0x2139, 0x2139),
        (0x213C, 0x213F), (0x2145, 0x2149), (0x214E, 0x214E), (0x2183, 0x2183), (0x2184, 0x2184), (0x2C00, 0x2C7B),
        (0x2C7E, 0x2CE4), (0x2CEB, 0x2CEE), (0x2CF2, 0x2CF2), (0x2CF3, 0x2CF3), (0xA640, 0xA66D), (0xA680, 0xA69B),
        (0xA722, 0xA76F), (0xA771, 0xA787), (0xA78B, 0xA78E), (0xAB70, 0xABBF), (0xFB00, 0xFB06), (0xFB13, 0xFB17),
        (0xFF21, 0xFF3A), (0xFF41, 0xFF5A), (0x10400, 0x1044F), (0x104B0, 0x104D3), (0x104D8, 0x104FB), (0x10C80, 0x10CB2),
        (0x10CC0, 0x10CF2), (0x118A0, 0x118DF), (0x1E900, 0x1E943),
    ]
    /// Step 3's class: ASCII punctuation *and letters* (`:-~` spans A–Z and a–z), fullwidth
    /// forms, curly quotes and U+3000–U+3002.
    static let punctuation: Ranges = [
        (0x21, 0x2F), (0x3A, 0x7E), (0xFF01, 0xFF0F), (0xFF1A, 0xFF5E), (0x2018, 0x201F), (0x3000, 0x3002),
    ]
    /// Step 5's class: CJK ideographs, U+0800–U+4E00, Hangul syllables and beyond to U+D7FF.
    static let cjk: Ranges = [(0x4E00, 0x9FA5), (0x800, 0x4E00), (0xAC00, 0xD7FF)]

    @inline(__always)
    static func contains(_ ranges: Ranges, _ v: UInt32) -> Bool {
        for (lo, hi) in ranges where v >= lo && v <= hi { return true }
        return false
    }

    /// The scalar llama.cpp's std::wregex sees: non-ASCII whitespace becomes U+000B.
    @inline(__always)
    private static func seen(_ t: ScalarText, _ p: Int) -> UInt32 {
        let v = t.scalars[p]
        return v > 0x7F && t.classes[p] & ScalarClass.whitespace.rawValue != 0 ? 0x0B : v
    }

    @inline(__always)
    private static func isSpace(_ t: ScalarText, _ p: Int) -> Bool {
        t.classes[p] & ScalarClass.whitespace.rawValue != 0
    }

    /// `\s?[class]+` anchored at p within [p, b).
    @inline(__always)
    private static func optionalSpaceThenRun(_ t: ScalarText, _ p: Int, _ b: Int, _ ranges: Ranges) -> Int? {
        var e = p
        if isSpace(t, p), p + 1 < b, contains(ranges, seen(t, p + 1)) {
            e = p + 1
        } else if !contains(ranges, seen(t, p)) {
            return nil
        }
        while e < b, contains(ranges, seen(t, e)) { e += 1 }
        return e
    }

    static let steps: [PatternSplitters.Step] = [
        { t, a, b, out in  // [\r\n]
            PatternSplitters.isolate(a, b, &out) { p in t.scalars[p] == 0x0D || t.scalars[p] == 0x0A ? p + 1 : nil }
        },
        { t, a, b, out in PatternSplitters.isolate(a, b, &out) { optionalSpaceThenRun(t, $0, b, letters) } },
        { t, a, b, out in PatternSplitters.isolate(a, b, &out) { optionalSpaceThenRun(t, $0, b, punctuation) } },
        { t, a, b, out in  // \s+$ : the trailing whitespace of the piece
            var start = b
            while start > a, isSpace(t, start - 1) { start -= 1 }
            if start > a, start < b { out.append(start) }
            out.append(b)
        },
        { t, a, b, out in
            PatternSplitters.isolate(a, b, &out) { p in
                guard contains(cjk, seen(t, p)) else { return nil }
                var e = p + 1
                while e < b, contains(cjk, seen(t, e)) { e += 1 }
                return e
            }
        },
        { t, a, b, out in  // \p{N}+
            let n = ScalarClass.number.rawValue
            PatternSplitters.isolate(a, b, &out) { p in
                guard t.classes[p] & n != 0 else { return nil }
                var e = p + 1
                while e < b, t.classes[e] & n != 0 { e += 1 }
                return e
            }
        },
    ]
}
