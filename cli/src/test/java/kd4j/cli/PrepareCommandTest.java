/*
 * `kd4j prepare` driven through picocli with captured out/err: a run on real text with a real tokenizer, a
 * resume that keeps every shard, and the bad-input messages (missing JSONL field, empty file, bad option).
 */
package kd4j.cli;

import static kd4j.cli.CliRunner.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import kd4j.cli.CliRunner.Run;
import kd4j.data.TokenDataset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrepareCommandTest {
    static final String TOKENIZER = Path.of("src/test/resources/tokenizers/brown-bpe-512").toString();

    @TempDir Path dir;

    @Test
    void preparesJsonl_thenResumesKeepingEveryShard() throws Exception {
        Path corpus = dir.resolve("c.jsonl");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 30; i++)
            s.append("{\"id\": \"n").append(i).append("\", \"text\": \"Call me Ishmael. Some years ago, never mind how long precisely, ")
                    .append("having little money in my purse, I thought I would sail about a little. Number ").append(i).append(".\"}\n");
        Files.writeString(corpus, s);
        Path out = dir.resolve("out");
        String[] args = {"prepare", "--input", corpus.toString(), "--tokenizer", TOKENIZER, "--out", out.toString(),
                "--seq", "32", "--val-fraction", "0.1", "--docs-per-shard", "8", "--format", "megatron"};
        Run r = run(args);
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("documents: 30 (train "), r.out());
        assertTrue(r.out().contains("4 shard(s) tokenized, 0 kept"), r.out());
        assertTrue(Files.exists(out.resolve("train_0.idx")));
        try (TokenDataset ds = TokenDataset.open(out)) {
            var m = ds.manifest().orElseThrow();
            assertEquals(30, m.total().documents());
            assertEquals(33, m.instanceLength());
            assertTrue(m.train().instances() > 0);
            ds.verify();
        }
        Run again = run(args);
        assertEquals(0, again.exit(), again.err());
        assertTrue(again.out().contains("0 shard(s) tokenized, 4 kept"), again.out());
    }

    @Test
    void missingFieldNamesFileAndLine() throws Exception {
        Path corpus = dir.resolve("corpus.jsonl");
        Files.writeString(corpus, "{\"id\": 1, \"body\": \"some text\"}\n");
        Run r = run("prepare", "--input", corpus.toString(), "--tokenizer", TOKENIZER, "--out", dir.resolve("o").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exit());
        assertEquals("kd4j: " + corpus + ":1: line has no field \"text\" (fields: id, body). Use --field body?", r.err().strip());
    }

    @Test
    void emptyFileAndBadOptionsAreNamed() throws Exception {
        Path empty = dir.resolve("empty.txt");
        Files.write(empty, new byte[0]);
        Run r = run("prepare", "--input", empty.toString(), "--tokenizer", TOKENIZER, "--out", dir.resolve("o").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exit());
        assertEquals("kd4j: " + empty + ": file is empty; expected UTF-8 text", r.err().strip());

        Run bad = run("prepare", "--input", empty.toString(), "--tokenizer", TOKENIZER, "--out", dir.resolve("o").toString(),
                "--val-fraction", "1.5");
        assertEquals(ExitCodes.USAGE, bad.exit());
        assertTrue(bad.err().startsWith("--val-fraction must be in [0, 1), got 1.5"), bad.err());
    }
}
