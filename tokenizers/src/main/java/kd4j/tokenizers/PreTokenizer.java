/*
 * Pre-tokenizers: split normalized text into the pieces that the model encodes independently (HF tokenizers
 * pre_tokenizers: ByteLevel, Split, Digits, Metaspace, Whitespace, WhitespaceSplit, Sequence). Pieces are plain
 * Strings; a ByteLevel step turns each piece into its byte-level string. Offsets are not tracked (kd4j needs ids).
 */
package kd4j.tokenizers;

import it.unimi.dsi.fastutil.ints.IntArrayList;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

sealed interface PreTokenizer {

    /**
     * Splits every piece of in, appending the results to out. atStart: in.get(0) begins at offset 0 of the
     * original text (Metaspace's prepend_scheme "first" needs it: HF prepends only to a piece whose first char
     * has original offset 0). Returns whether out.get(0) still begins there (false when a split removed the
     * leading chars, or when in.get(0) produced no piece).
     */
    boolean apply(List<String> in, List<String> out, boolean atStart);

    /** Finds non-overlapping matches in a string, appending start,end char offsets in ascending order. */
    interface Matcher {
        void find(String s, IntArrayList out);
    }

    /** How Split treats the matched delimiters (HF SplitDelimiterBehavior). */
    enum Behavior { REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    /** GPT-2 ByteLevel: optional prefix space, optional GPT-2 regex split, then bytes → byte-level chars. */
    record ByteLevelSplit(boolean addPrefixSpace, boolean useRegex) implements PreTokenizer {
        static final String GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
        private static final Matcher GPT2 = new RegexMatcher(GPT2_PATTERN);

        @Override
        public boolean apply(List<String> in, List<String> out, boolean atStart) {
            IntArrayList m = useRegex ? new IntArrayList() : null;
            for (String piece : in) {
                String p = addPrefixSpace && !piece.startsWith(" ") ? " " + piece : piece;
                if (!useRegex) {
                    out.add(ByteLevel.encode(p));
                    continue;
                }
                m.clear();
                GPT2.find(p, m);
                List<String> parts = new ArrayList<>();
                splitInto(p, m, false, Behavior.ISOLATED, parts);
                for (String part : parts) out.add(ByteLevel.encode(part));
            }
            return atStart && !out.isEmpty();    // a prefix space and ISOLATED keep every char
        }
    }

    /** Split by a pattern with a delimiter behavior; invert swaps what counts as the match. */
    record Split(Matcher pattern, Behavior behavior, boolean invert) implements PreTokenizer {
        @Override
        public boolean apply(List<String> in, List<String> out, boolean atStart) {
            IntArrayList m = new IntArrayList();
            boolean first = false;
            for (int k = 0; k < in.size(); k++) {
                String piece = in.get(k);
                m.clear();
                pattern.find(piece, m);
                int start = splitInto(piece, m, invert, behavior, out);
                if (k == 0) first = atStart && start == 0;
            }
            return first;
        }
    }

    /** Digits: each digit alone (individual) or runs of digits, split from the rest (Rust char::is_numeric). */
    record Digits(boolean individualDigits) implements PreTokenizer {
        @Override
        public boolean apply(List<String> in, List<String> out, boolean atStart) {
            Matcher digits = (s, m) -> {
                for (int i = 0; i < s.length(); ) {
                    int c = s.codePointAt(i), k = Character.charCount(c);
                    if (Cl100kSplitter.isNumber(c)) { m.add(i); m.add(i + k); }
                    i += k;
                }
            };
            return new Split(digits, individualDigits ? Behavior.ISOLATED : Behavior.CONTIGUOUS, false).apply(in, out, atStart);
        }
    }

    /** Whitespace: keeps runs matching \w+|[^\w\s]+, drops the rest. */
    record Whitespace() implements PreTokenizer {
        private static final Matcher WORDS = new RegexMatcher("\\w+|[^\\w\\s]+");

        @Override
        public boolean apply(List<String> in, List<String> out, boolean atStart) {
            return new Split(WORDS, Behavior.REMOVED, true).apply(in, out, atStart);
        }
    }

    /** WhitespaceSplit: splits on Unicode whitespace, dropping it. */
    record WhitespaceSplit() implements PreTokenizer {
        @Override
        public boolean apply(List<String> in, List<String> out, boolean atStart) {
            Matcher ws = (s, m) -> {
                for (int i = 0; i < s.length(); ) {
                    int c = s.codePointAt(i), k = Character.charCount(c);
                    if (Cl100kSplitter.isWhitespace(c)) { m.add(i); m.add(i + k); }
                    i += k;
                }
            };
            return new Split(ws, Behavior.REMOVED, false).apply(in, out, atStart);
        }
    }

    /** Metaspace: spaces become the replacement char (▁), optional prefix, split before each ▁. */
    record Metaspace(char replacement, String prependScheme, boolean split) implements PreTokenizer {
        @Override
        public boolean apply(List<String> in, List<String> out, boolean atStart) {
            String rep = String.valueOf(replacement);
            IntArrayList m = new IntArrayList();
            for (int k = 0; k < in.size(); k++) {
                String p = in.get(k).replace(" ", rep);
                boolean prepend = switch (prependScheme) {
                    case "always" -> true;
                    case "first" -> atStart && k == 0;
                    default -> false;
                };
                if (prepend && !p.startsWith(rep)) p = rep + p;
                if (!split) {
                    out.add(p);
                    continue;
                }
                m.clear();
                for (int i = p.indexOf(replacement); i >= 0; i = p.indexOf(replacement, i + 1)) { m.add(i); m.add(i + 1); }
                splitInto(p, m, false, Behavior.MERGED_WITH_NEXT, out);
            }
            return atStart && !out.isEmpty();    // prepending and MERGED_WITH_NEXT keep every char
        }
    }

    record Sequence(List<PreTokenizer> steps) implements PreTokenizer {
        @Override
        public boolean apply(List<String> in, List<String> out, boolean atStart) {
            List<String> cur = in;
            for (int i = 0; i < steps.size(); i++) {
                List<String> next = i == steps.size() - 1 ? out : new ArrayList<>();
                atStart = steps.get(i).apply(cur, next, atStart);
                cur = next;
            }
            if (steps.isEmpty()) out.addAll(in);
            return atStart;
        }
    }

    /**
     * A java.util.regex pattern with Unicode classes (\s, \w, \d as in Oniguruma's Unicode mode) and Oniguruma's
     * Ruby-syntax lines: ^ and $ anchor at every \n (not only at the ends), and only \n ends a line.
     */
    final class RegexMatcher implements Matcher {
        static final int FLAGS = Pattern.UNICODE_CHARACTER_CLASS | Pattern.UNICODE_CASE | Pattern.MULTILINE | Pattern.UNIX_LINES;

        private final Pattern pattern;

        RegexMatcher(String regex) {
            this.pattern = Pattern.compile(regex, FLAGS);
        }

        static RegexMatcher literal(String s) {
            return new RegexMatcher(Pattern.quote(s));
        }

        @Override
        public void find(String s, IntArrayList out) {
            var m = pattern.matcher(s);
            while (m.find()) {
                if (m.start() == m.end()) continue;    // HF drops empty matches
                out.add(m.start());
                out.add(m.end());
            }
        }

        @Override
        public String toString() { return pattern.pattern(); }
    }

    /**
     * Applies HF's split semantics: matches (start,end pairs in m) and the gaps between them form a cover of s;
     * behavior decides what is kept and merged; empty pieces are dropped. Returns the start of the first piece
     * emitted, or -1 when none was.
     */
    static int splitInto(String s, IntArrayList m, boolean invert, Behavior behavior, List<String> out) {
        int n = s.length(), first = -1;
        if (n == 0) return -1;
        // the cover: (start, end, isMatch) triples
        IntArrayList cover = new IntArrayList(m.size() * 3 / 2 + 6);
        int prev = 0;
        for (int k = 0; k < m.size(); k += 2) {
            int a = m.getInt(k), b = m.getInt(k + 1);
            if (prev != a) { cover.add(prev); cover.add(a); cover.add(invert ? 1 : 0); }
            cover.add(a); cover.add(b); cover.add(invert ? 0 : 1);
            prev = b;
        }
        if (prev != n) { cover.add(prev); cover.add(n); cover.add(invert ? 1 : 0); }
        int count = cover.size() / 3;
        switch (behavior) {
            case ISOLATED -> {
                for (int k = 0; k < count; k++) first = emit(s, cover.getInt(3 * k), cover.getInt(3 * k + 1), out, first);
            }
            case REMOVED -> {
                for (int k = 0; k < count; k++)
                    if (cover.getInt(3 * k + 2) == 0) first = emit(s, cover.getInt(3 * k), cover.getInt(3 * k + 1), out, first);
            }
            case CONTIGUOUS -> {
                int start = -1, end = -1, flag = -1;
                for (int k = 0; k < count; k++) {
                    int f = cover.getInt(3 * k + 2);
                    if (f == flag) { end = cover.getInt(3 * k + 1); continue; }
                    if (start >= 0) first = emit(s, start, end, out, first);
                    start = cover.getInt(3 * k); end = cover.getInt(3 * k + 1); flag = f;
                }
                if (start >= 0) first = emit(s, start, end, out, first);
            }
            case MERGED_WITH_PREVIOUS -> {
                IntArrayList acc = new IntArrayList();
                boolean previousMatch = false;
                for (int k = 0; k < count; k++) {
                    boolean isMatch = cover.getInt(3 * k + 2) == 1;
                    if (isMatch && !previousMatch && !acc.isEmpty()) acc.set(acc.size() - 1, cover.getInt(3 * k + 1));
                    else { acc.add(cover.getInt(3 * k)); acc.add(cover.getInt(3 * k + 1)); }
                    previousMatch = isMatch;
                }
                for (int k = 0; k < acc.size(); k += 2) first = emit(s, acc.getInt(k), acc.getInt(k + 1), out, first);
            }
            case MERGED_WITH_NEXT -> {
                IntArrayList acc = new IntArrayList();    // built back to front
                boolean previousMatch = false;
                for (int k = count - 1; k >= 0; k--) {
                    boolean isMatch = cover.getInt(3 * k + 2) == 1;
                    if (isMatch && !previousMatch && !acc.isEmpty()) acc.set(acc.size() - 2, cover.getInt(3 * k));
                    else { acc.add(cover.getInt(3 * k)); acc.add(cover.getInt(3 * k + 1)); }
                    previousMatch = isMatch;
                }
                for (int k = acc.size() - 2; k >= 0; k -= 2) first = emit(s, acc.getInt(k), acc.getInt(k + 1), out, first);
            }
        }
        return first;
    }

    /** Appends s[a, b) when not empty; returns the start of the first emitted piece so far. */
    private static int emit(String s, int a, int b, List<String> out, int first) {
        if (b <= a) return first;
        out.add(a == 0 && b == s.length() ? s : s.substring(a, b));
        return first < 0 ? a : first;
    }
}
