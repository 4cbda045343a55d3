/*
 * Hand-written matcher for the pre-tokenizer regex of Qwen2/2.5/3 and Llama 3 (OpenAI's cl100k pattern):
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,K}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * with K = 1 (Qwen) or 3 (Llama 3). It reproduces the leftmost-first backtracking semantics of Oniguruma
 * (what HF tokenizers runs) in one forward pass per match: no backtracking blow-ups, no allocation.
 * \s is Unicode White_Space, \p{L} and \p{N} are the general categories, as in HF (Java's \s is ASCII-only).
 */
package kd4j.tokenizers;

import it.unimi.dsi.fastutil.ints.IntArrayList;

final class Cl100kSplitter implements PreTokenizer.Matcher {
    static final String QWEN2_PATTERN =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String LLAMA3_PATTERN =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private final int maxDigits;

    Cl100kSplitter(int maxDigits) {
        this.maxDigits = maxDigits;
    }

    /** The splitter for a regex that is exactly one of the two known patterns, else null. */
    static Cl100kSplitter forPattern(String regex) {
        if (regex.equals(QWEN2_PATTERN)) return new Cl100kSplitter(1);
        if (regex.equals(LLAMA3_PATTERN)) return new Cl100kSplitter(3);
        return null;
    }

    @Override
    public void find(String s, IntArrayList out) {
        int n = s.length();
        int i = 0;
        while (i < n) {
            int end = matchAt(s, i, n);
            out.add(i);
            out.add(end);
            i = end;
        }
    }

    /** End of the match starting at i (every position matches one of the alternatives). */
    private int matchAt(String s, int i, int n) {
        int c = s.codePointAt(i);
        int ic = Character.charCount(c);
        // 1: contractions, case-insensitive (simple case folding: 'ſ' (U+017F) folds to 's', 'K' to 'k')
        if (c == '\'' && i + 1 < n) {
            int len = contraction(s, i + 1, n);
            if (len > 0) return i + 1 + len;
        }
        // 2: [^\r\n\p{L}\p{N}]?\p{L}+
        if (isLetter(c)) return letterRun(s, i + ic, n);
        if (c != '\r' && c != '\n' && !isNumber(c) && i + ic < n && isLetter(s.codePointAt(i + ic)))
            return letterRun(s, i + ic, n);
        // 3: \p{N}{1,K}
        if (isNumber(c)) {
            int j = i + ic, k = 1;
            while (k < maxDigits && j < n) {
                int d = s.codePointAt(j);
                if (!isNumber(d)) break;
                j += Character.charCount(d);
                k++;
            }
            return j;
        }
        // 4: ' '?[^\s\p{L}\p{N}]+[\r\n]*
        int j = i;
        if (c == ' ' && i + 1 < n && isOther(s.codePointAt(i + 1))) j = i + 1;
        if (j < n && isOther(s.codePointAt(j))) {
            while (j < n) {
                int d = s.codePointAt(j);
                if (!isOther(d)) break;
                j += Character.charCount(d);
            }
            while (j < n && (s.charAt(j) == '\r' || s.charAt(j) == '\n')) j++;
            return j;
        }
        // c is whitespace from here on: find the whitespace run [i, w) and its last \r or \n
        int w = i, lastNewline = -1, lastStart = i;
        while (w < n) {
            int d = s.codePointAt(w);
            if (!isWhitespace(d)) break;
            if (d == '\r' || d == '\n') lastNewline = w;
            lastStart = w;
            w += Character.charCount(d);
        }
        // 5: \s*[\r\n]+ backtracks to the last newline of the run
        if (lastNewline >= 0) return lastNewline + 1;
        // 6: \s+(?!\S): the whole run at the end of the text, else all but its last char
        if (w == n) return w;
        if (lastStart > i) return lastStart;
        // 7: \s+
        return w;
    }

    private static int letterRun(String s, int j, int n) {
        while (j < n) {
            int d = s.codePointAt(j);
            if (!isLetter(d)) break;
            j += Character.charCount(d);
        }
        return j;
    }

    /** Length of the contraction suffix after an apostrophe at p, or 0: s t re ve m ll d, any case. */
    private static int contraction(String s, int p, int n) {
        char a = s.charAt(p);
        if (a == 's' || a == 'S' || a == '\u017F' || a == 't' || a == 'T' || a == 'm' || a == 'M' || a == 'd' || a == 'D')
            return 1;
        if (p + 1 < n) {
            char b = s.charAt(p + 1);
            if ((a == 'r' || a == 'R') && (b == 'e' || b == 'E')) return 2;
            if ((a == 'v' || a == 'V') && (b == 'e' || b == 'E')) return 2;
            if ((a == 'l' || a == 'L') && (b == 'l' || b == 'L')) return 2;
        }
        return 0;
    }

    static boolean isLetter(int c) {
        if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        return Character.isLetter(c);
    }

    static boolean isNumber(int c) {
        if (c < 0x80) return c >= '0' && c <= '9';
        int t = Character.getType(c);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }

    /** Unicode White_Space (what \s means in Oniguruma and Rust regex). */
    static boolean isWhitespace(int c) {
        if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
        return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029
                || c == 0x202F || c == 0x205F || c == 0x3000;
    }

    private static boolean isOther(int c) {
        return !isWhitespace(c) && !isLetter(c) && !isNumber(c);
    }
}
