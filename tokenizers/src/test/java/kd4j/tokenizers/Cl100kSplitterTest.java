/*
 * The hand-written Qwen2/Llama 3 splitter against the same regex run by java.util.regex (Unicode classes),
 * on hand-picked edge cases with their exact pieces and on seeded random strings over a tricky alphabet.
 */
package kd4j.tokenizers;

import static org.junit.jupiter.api.Assertions.assertEquals;

import it.unimi.dsi.fastutil.ints.IntArrayList;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Cl100kSplitterTest {

    static List<String> pieces(PreTokenizer.Matcher m, String s) {
        IntArrayList out = new IntArrayList();
        m.find(s, out);
        List<String> p = new ArrayList<>();
        for (int k = 0; k < out.size(); k += 2) p.add(s.substring(out.getInt(k), out.getInt(k + 1)));
        return p;
    }

    @Test
    void edgeCases_splitExactlyAsTheRegexSays() {
        var qwen = new Cl100kSplitter(1);
        assertEquals(List.of("Hello", ",", " world", "!"), pieces(qwen, "Hello, world!"));
        assertEquals(List.of("I", "'M", " fine", ",", " we", "'LL", " see"), pieces(qwen, "I'M fine, we'LL see"));
        assertEquals(List.of("1", "2", "3", "4"), pieces(qwen, "1234"));
        assertEquals(List.of("123", "4"), pieces(new Cl100kSplitter(3), "1234"));
        // \s+(?!\S) leaves the last space to the word; a lone space before a word joins it
        assertEquals(List.of("a", "  ", " b"), pieces(qwen, "a   b"));
        assertEquals(List.of("a", "   "), pieces(qwen, "a   "));
        // \s*[\r\n]+ ends at the last newline of the whitespace run
        assertEquals(List.of("a", " \n\n", "  ", " b"), pieces(qwen, "a \n\n   b"));
        assertEquals(List.of("x", "\r\n"), pieces(qwen, "x\r\n"));
        // Unicode whitespace (NBSP, ideographic space) and astral letters
        assertEquals(List.of("a", "\u00A0", "\u3000b"), pieces(qwen, "a\u00A0\u3000b"));
        assertEquals(List.of("\uD835\uDC00\uD835\uDC01", " x"), pieces(qwen, "\uD835\uDC00\uD835\uDC01 x"));
        assertEquals(List.of(" ...\n", "x"), pieces(qwen, " ...\nx"));    // punctuation takes its newlines
        assertEquals(List.of("(hello", ")"), pieces(qwen, "(hello)"));
        assertEquals(List.of("'s"), pieces(qwen, "'s"));
        assertEquals(List.of("'\u017F"), pieces(qwen, "'\u017F"));    // long s folds to s
    }

    @Test
    void randomStrings_matchJavaRegex() {
        String[] alphabet = {"a", "B", "z", "é", "ß", "ſ", "'", "s", "S", "t", "r", "e", "l", "L", "d", "v", "m", "0", "7",
                "٣", "²", "Ⅻ", " ", " ", "  ", "\t", "\n", "\r", "\r\n", "\u000B", "\u000C", "\u0085", "\u00A0", "\u2028",
                "\u3000", "\u200B", ".", ",", "!", "(", "-", "_", "\uD835\uDC00", "\uD840\uDC00", "😀", "中", "文", "\u0301",
                "\uFFFD", "\u0000", "\u001F", "\uE000"};
        Random random = new Random(42);
        for (String regex : List.of(Cl100kSplitter.QWEN2_PATTERN, Cl100kSplitter.LLAMA3_PATTERN)) {
            var fast = Cl100kSplitter.forPattern(regex);
            var reference = new PreTokenizer.RegexMatcher(regex);
            for (int trial = 0; trial < 3000; trial++) {
                StringBuilder sb = new StringBuilder();
                int len = random.nextInt(24);
                for (int i = 0; i < len; i++) sb.append(alphabet[random.nextInt(alphabet.length)]);
                String s = sb.toString();
                assertEquals(pieces(reference, s), pieces(fast, s), () -> "pattern " + regex + " on "
                        + HfTokenizerConformanceTest.escape(s));
            }
        }
    }
}
