/*
 * Added and special tokens (HF AddedVocabulary): matched in the text before the model sees it, leftmost and
 * then longest first, with the flags lstrip/rstrip (absorb neighbouring whitespace), single_word (only between
 * non-word chars) and normalized (matched in normalized text rather than raw text).
 */
package kd4j.tokenizers;

import it.unimi.dsi.fastutil.ints.IntArrayList;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

final class AddedTokens {
    /**
     * content: the token as written in tokenizer.json (what tokenToId looks up). surface: the text that is matched
     * and that idToToken and decode give back; for a normalized token HF stores its content normalized (with a
     * Lowercase normalizer, "Hello" is matched in the normalized text as "hello" and decodes as "hello").
     */
    record AddedToken(int id, String content, boolean singleWord, boolean lstrip, boolean rstrip,
                      boolean normalized, boolean special, String surface) {
        AddedToken(int id, String content, boolean singleWord, boolean lstrip, boolean rstrip, boolean normalized,
                   boolean special) {
            this(id, content, singleWord, lstrip, rstrip, normalized, special, content);
        }

        /** This token with its content run through the normalizer when it is a normalized token. */
        AddedToken normalizedBy(Normalizer normalizer) {
            if (!normalized || normalizer == null) return this;
            return new AddedToken(id, content, singleWord, lstrip, rstrip, normalized, special, normalizer.normalize(content));
        }
    }

    /** Tokens grouped by first char, longest first; one table for raw and one for normalized matching. */
    private final Map<Character, AddedToken[]> raw, normalized;
    final List<AddedToken> all;

    AddedTokens(List<AddedToken> tokens) {
        this.all = List.copyOf(tokens);
        raw = index(tokens, false);
        normalized = index(tokens, true);
    }

    private static Map<Character, AddedToken[]> index(List<AddedToken> tokens, boolean wantNormalized) {
        Map<Character, List<AddedToken>> groups = new HashMap<>();
        for (AddedToken t : tokens)
            if (t.normalized() == wantNormalized && !t.surface().isEmpty())
                groups.computeIfAbsent(t.surface().charAt(0), k -> new ArrayList<>()).add(t);
        Map<Character, AddedToken[]> out = new HashMap<>();
        for (var e : groups.entrySet()) {
            e.getValue().sort(Comparator.comparingInt((AddedToken t) -> t.surface().length()).reversed());
            out.put(e.getKey(), e.getValue().toArray(new AddedToken[0]));
        }
        return out;
    }

    boolean isEmpty(boolean normalizedPass) {
        return (normalizedPass ? normalized : raw).isEmpty();
    }

    /**
     * Splits s into segments: appends (start, end, id) triples to out, id = -1 for text between tokens.
     * Empty text segments are dropped.
     */
    void split(String s, boolean normalizedPass, IntArrayList out) {
        Map<Character, AddedToken[]> table = normalizedPass ? normalized : raw;
        int n = s.length(), startOffset = 0, i = 0;
        while (i < n) {
            AddedToken[] candidates = table.get(s.charAt(i));
            AddedToken match = null;
            if (candidates != null)
                for (AddedToken t : candidates)
                    if (s.startsWith(t.surface(), i)) { match = t; break; }
            if (match == null) { i++; continue; }
            int start = i, stop = i + match.surface().length();
            i = stop;    // the search goes on after this match even when the match is rejected, as HF's find_iter
            if (match.singleWord()) {
                boolean startSpace = start == 0 || !isWordChar(s.codePointBefore(start));
                boolean stopSpace = stop == n || !isWordChar(s.codePointAt(stop));
                if (!startSpace || !stopSpace) continue;
            }
            if (match.lstrip()) {
                int a = start;
                while (a > 0 && Cl100kSplitter.isWhitespace(s.codePointBefore(a)))
                    a -= Character.charCount(s.codePointBefore(a));
                start = Math.max(a, startOffset);
            }
            if (match.rstrip()) {
                while (stop < n && Cl100kSplitter.isWhitespace(s.codePointAt(stop))) stop += Character.charCount(s.codePointAt(stop));
                i = stop;
            }
            if (startOffset < start) { out.add(startOffset); out.add(start); out.add(-1); }
            out.add(start); out.add(stop); out.add(match.id());
            startOffset = stop;
        }
        if (startOffset < n) { out.add(startOffset); out.add(n); out.add(-1); }
    }

    private static boolean isWordChar(int c) {
        return Character.isLetterOrDigit(c) || c == '_';
    }
}
