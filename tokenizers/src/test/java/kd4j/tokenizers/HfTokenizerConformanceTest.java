/*
 * Conformance with HF tokenizers: for every tokenizer directory with cases.jsonl (the shared fixtures, plus the
 * bundled brown-bpe-512 copy that always runs), ids, ids_with_special, decoded and decoded_skip_special must
 * equal HF's exactly. All mismatches are reported, not just the first.
 */
package kd4j.tokenizers;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

class HfTokenizerConformanceTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    static Path fixturesRoot() {
        String root = System.getenv("KD4J_FIXTURES");
        if (root == null) root = System.getProperty("kd4j.fixtures");
        return root == null ? null : Path.of(root);
    }

    static Path bundled() throws Exception {
        return Path.of(HfTokenizerConformanceTest.class.getResource("brown-bpe-512/tokenizer.json").toURI()).getParent();
    }

    @Test
    void bundledBrownBpe512_matchesHf() throws Exception {
        List<String> mismatches = check(bundled());
        assertTrue(mismatches.isEmpty(), String.join("\n", mismatches));
    }

    @TestFactory
    Stream<DynamicTest> sharedFixtures_matchHf() throws IOException {
        Path root = fixturesRoot();
        Path dir = root == null ? null : root.resolve("tokenizers");
        Assumptions.assumeTrue(dir != null && Files.isDirectory(dir),
                "fixtures not found at " + dir + "; set KD4J_FIXTURES");
        List<Path> dirs;
        try (Stream<Path> s = Files.list(dir)) {
            dirs = s.filter(p -> Files.exists(p.resolve("cases.jsonl")) && Files.exists(p.resolve("tokenizer.json")))
                    .sorted().toList();
        }
        assertTrue(!dirs.isEmpty(), "no tokenizer directories with cases.jsonl under " + dir);
        return dirs.stream().map(d -> DynamicTest.dynamicTest(d.getFileName().toString(), () -> {
            List<String> mismatches = check(d);
            if (!mismatches.isEmpty()) fail(mismatches.size() + " mismatches in " + d + ":\n" + String.join("\n", mismatches));
        }));
    }

    /** Every mismatch of every case in dir/cases.jsonl, as readable lines. */
    static List<String> check(Path dir) throws IOException {
        Tokenizer tok = Tokenizers.load(dir);
        List<String> lines = Files.readAllLines(dir.resolve("cases.jsonl"), StandardCharsets.UTF_8);
        List<String> mismatches = new ArrayList<>();
        int cases = 0;
        for (int ln = 0; ln < lines.size(); ln++) {
            if (lines.get(ln).isBlank()) continue;
            cases++;
            JsonNode c = MAPPER.readTree(lines.get(ln));
            String where = dir.getFileName() + "/cases.jsonl:" + (ln + 1) + " (" + c.get("source").asText() + ")";
            String text = c.get("text").asText();
            int[] ids = tok.encode(text), expected = ints(c.get("ids"));
            if (!Arrays.equals(ids, expected))
                mismatches.add(where + " ids\n  expected " + Arrays.toString(expected) + "\n  actual   " + Arrays.toString(ids));
            int[] withSpecial = tok.encodeWithSpecialTokens(text), expectedWithSpecial = ints(c.get("ids_with_special"));
            if (!Arrays.equals(withSpecial, expectedWithSpecial))
                mismatches.add(where + " ids_with_special\n  expected " + Arrays.toString(expectedWithSpecial)
                        + "\n  actual   " + Arrays.toString(withSpecial));
            String decoded = tok.decode(expected, false);
            if (!decoded.equals(c.get("decoded").asText()))
                mismatches.add(where + " decoded\n  expected " + escape(c.get("decoded").asText()) + "\n  actual   " + escape(decoded));
            String skip = tok.decode(expectedWithSpecial, true);
            if (!skip.equals(c.get("decoded_skip_special").asText()))
                mismatches.add(where + " decoded_skip_special\n  expected " + escape(c.get("decoded_skip_special").asText())
                        + "\n  actual   " + escape(skip));
        }
        assertTrue(cases > 0, "no cases in " + dir.resolve("cases.jsonl"));
        return mismatches;
    }

    static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) out[i] = arr.get(i).asInt();
        return out;
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) sb.append(String.format("\\u%04x", cp));
            else sb.appendCodePoint(cp);
        });
        return sb.append('"').toString();
    }
}
