/*
 * The tokenizer commands driven through picocli with captured out/err: training, encoding, showing, decoding,
 * checking against reference cases (exit 1 on a mismatch), the benchmark's last line, and bad-input messages.
 */
package kd4j.cli;

import static kd4j.cli.CliRunner.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import kd4j.cli.CliRunner.Run;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizeCommandTest {
    @TempDir
    static Path dir;
    static Path trained;

    @BeforeAll
    static void trainSmallTokenizer() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 50; i++) lines.add("the cat sat on the mat, and the dog sat on the log " + i);
        Path corpus = dir.resolve("corpus.txt");
        Files.write(corpus, lines);
        trained = dir.resolve("tok");
        Run r = run("tokenizer-train", "--input", corpus.toString(), "--vocab-size", "300", "--out", trained.toString());
        assertEquals(0, r.exit(), r.err());
        // 21 distinct pre-tokens cannot feed 300 - 257 merges: training stops when every word is one token
        assertTrue(r.out().contains(", stopped early: no pair reaches --min-frequency"), r.out());
        assertTrue(Files.exists(trained.resolve("tokenizer.json")));
    }

    @Test
    void encodeShowDecode_roundTrip() {
        Run enc = run("tokenize", "--tokenizer", trained.toString(), "--text", "the cat sat");
        assertEquals(0, enc.exit(), enc.err());
        String ids = enc.out().strip();
        assertTrue(ids.matches("\\d+( \\d+)*"), ids);
        Run show = run("tokenize", "--tokenizer", trained.toString(), "--text", "the cat sat", "--show");
        assertEquals(ids.split(" ").length, show.out().strip().split("\n").length, show.out());
        assertEquals(List.of("the", "Ġcat", "Ġsat"), show.out().strip().lines().map(l -> l.split("\t")[1]).toList());
        Run dec = run("tokenize", "--tokenizer", trained.toString(), "--decode", "--text", ids);
        assertEquals("the cat sat", dec.out().strip());
        Run special = run("tokenize", "--tokenizer", trained.toString(), "--text", "the<|endoftext|>", "--show");
        assertTrue(special.out().strip().endsWith("0\t<|endoftext|>"), special.out());
    }

    @Test
    void check_reportsMismatchWithBothIdLists() throws Exception {
        String good = run("tokenize", "--tokenizer", trained.toString(), "--text", "the dog").out().strip();
        Path cases = dir.resolve("cases.jsonl");
        Files.writeString(cases, "{\"text\": \"the dog\", \"ids\": [" + good.replace(" ", ", ") + "]}\n"
                + "{\"text\": \"the log\", \"ids\": [1, 2, 3]}\n");
        Run r = run("tokenize", "--tokenizer", trained.toString(), "--check", cases.toString());
        assertEquals(1, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("cases.jsonl:2: ids differ"), r.out());
        assertTrue(r.out().contains("  expected 1 2 3"), r.out());
        assertTrue(r.out().strip().endsWith("cases: 2, mismatches: 1"), r.out());
    }

    @Test
    void check_sharedFixtures_allMatch() throws Exception {
        String root = System.getenv("KD4J_FIXTURES");
        if (root == null) root = System.getProperty("kd4j.fixtures");
        Path tok = root == null ? null : Path.of(root, "tokenizers", "brown-bpe-512");
        Assumptions.assumeTrue(tok != null && Files.exists(tok.resolve("cases.jsonl")), "fixtures not found at " + tok + "; set KD4J_FIXTURES");
        long count = Files.readAllLines(tok.resolve("cases.jsonl")).stream().filter(l -> !l.isBlank()).count();
        Run r = run("tokenize", "--tokenizer", tok.toString(), "--check", tok.resolve("cases.jsonl").toString());
        assertEquals(0, r.exit(), r.out() + r.err());
        assertEquals("cases: " + count + ", mismatches: 0", r.out().strip());
    }

    @Test
    void invalidUtf8Input_isReplacedAndReportedOnce() throws Exception {
        Path bad = dir.resolve("bad.txt");
        Files.write(bad, new byte[] {'t', 'h', 'e', (byte) 0xFF, ' ', 'c', 'a', 't', (byte) 0xC3});
        Run r = run("tokenize", "--tokenizer", trained.toString(), "--input", bad.toString(), "--show");
        assertEquals(0, r.exit(), r.err());
        assertEquals("kd4j: warning: " + bad + ": invalid UTF-8 at byte 3 (2 invalid sequences replaced by U+FFFD, as HF tokenizers does)",
                r.err().strip());
        Run dec = run("tokenize", "--tokenizer", trained.toString(), "--decode", "--text",
                run("tokenize", "--tokenizer", trained.toString(), "--input", bad.toString()).out());
        assertEquals("the\uFFFD cat\uFFFD", dec.out().strip());
    }

    @Test
    void malformedTokenizerJson_namesJsonPath() throws Exception {
        Path broken = dir.resolve("broken");
        Files.createDirectories(broken);
        String json = Files.readString(trained.resolve("tokenizer.json"), StandardCharsets.UTF_8)
                .replaceFirst("\"type\" : \"BPE\"", "\"type\" : \"WordPiece\"");
        Files.writeString(broken.resolve("tokenizer.json"), json);
        Run r = run("tokenize", "--tokenizer", broken.toString(), "--text", "x");
        assertEquals(ExitCodes.BAD_INPUT, r.exit());
        assertEquals("kd4j: " + broken.resolve("tokenizer.json") + ": $.model.type: model 'WordPiece' is not supported (supported: BPE)",
                r.err().strip());
    }

    @Test
    void benchTokenize_lastLineIsMbPerSecond() throws Exception {
        Run r = run("bench", "tokenize", "--tokenizer", trained.toString(), "--input", dir.resolve("corpus.txt").toString(),
                "--threads", "2", "--runs", "1");
        assertEquals(0, r.exit(), r.err());
        String[] lines = r.out().strip().split("\n");
        assertTrue(lines[lines.length - 1].matches("MB/s: \\d+\\.\\d\\d"), r.out());
    }
}
