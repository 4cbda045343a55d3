/*
 * Normalizers: text → text before pre-tokenization (HF tokenizers normalizers: NFC, NFD, NFKC, NFKD, Lowercase,
 * Prepend, Replace, Strip, Sequence). Alignments are not tracked; kd4j needs ids, not offsets.
 */
package kd4j.tokenizers;

import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

sealed interface Normalizer {
    String normalize(String s);

    /**
     * Whether the first char of normalize(s) still comes from offset 0 of s: false when normalizing removes the
     * leading chars (Strip, or Replace with empty content matching at 0). Metaspace's prepend_scheme "first"
     * prepends only there, as HF checks the original offset. Prepended and replaced chars inherit the offset.
     */
    default boolean keepsStart(String s) { return true; }

    record Unicode(java.text.Normalizer.Form form) implements Normalizer {
        @Override
        public String normalize(String s) {
            // quick check first: almost all text is already NFC, and isNormalized does not allocate
            return java.text.Normalizer.isNormalized(s, form) ? s : java.text.Normalizer.normalize(s, form);
        }
    }

    /**
     * Lowercases char by char as Rust's char::to_lowercase (HF NormalizedString::lowercase): unlike
     * String.toLowerCase, a capital sigma is always σ, never the word-final ς. İ still becomes "i̇" in both.
     */
    record Lowercase() implements Normalizer {
        @Override
        public String normalize(String s) {
            return (s.indexOf('\u03A3') >= 0 ? s.replace('\u03A3', '\u03C3') : s).toLowerCase(Locale.ROOT);
        }
    }

    /** Prepends a string to non-empty text. */
    record Prepend(String prepend) implements Normalizer {
        @Override
        public String normalize(String s) { return s.isEmpty() ? s : prepend + s; }
    }

    /** Replaces every match of a literal (regex == null) or a regex with content. */
    record Replace(String literal, Pattern regex, String content) implements Normalizer {
        @Override
        public String normalize(String s) {
            if (regex == null) return s.replace(literal, content);
            return regex.matcher(s).replaceAll(java.util.regex.Matcher.quoteReplacement(content));
        }

        @Override
        public boolean keepsStart(String s) {
            if (!content.isEmpty()) return true;
            if (regex == null) return literal.isEmpty() || !s.startsWith(literal);
            var m = regex.matcher(s);
            return !(m.find() && m.start() == 0 && m.end() > 0);
        }
    }

    /** Strips Unicode whitespace on the left and/or right. */
    record Strip(boolean left, boolean right) implements Normalizer {
        @Override
        public String normalize(String s) {
            int a = 0, b = s.length();
            if (left) while (a < b && Cl100kSplitter.isWhitespace(s.codePointAt(a))) a += Character.charCount(s.codePointAt(a));
            if (right) while (b > a && Cl100kSplitter.isWhitespace(s.codePointBefore(b))) b -= Character.charCount(s.codePointBefore(b));
            return s.substring(a, b);
        }

        @Override
        public boolean keepsStart(String s) {
            return !left || s.isEmpty() || !Cl100kSplitter.isWhitespace(s.codePointAt(0));
        }
    }

    record Sequence(List<Normalizer> steps) implements Normalizer {
        @Override
        public String normalize(String s) {
            for (Normalizer n : steps) s = n.normalize(s);
            return s;
        }

        @Override
        public boolean keepsStart(String s) {
            for (Normalizer n : steps) {
                if (!n.keepsStart(s)) return false;
                s = n.normalize(s);
            }
            return true;
        }
    }
}
