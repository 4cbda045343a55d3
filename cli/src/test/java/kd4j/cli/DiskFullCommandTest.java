/*
 * Disk full (issue #18): each long job is run in a child JVM under `ulimit -f` (SIGXFSZ ignored), so its writes
 * fail with EFBIG exactly where a full disk fails them with ENOSPC; both reach the JDK as an IOException from
 * write(), which is the condition this stands for. Every job must exit 1 (a failed run, not bad input) naming
 * the file and the bytes, keep its finished work, and finish bit-identically when run again with room.
 * Works as root and on 2 cores: the limit is per process, no disk is filled.
 */
package kd4j.cli;

import static kd4j.cli.CliRunner.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import kd4j.cli.CliRunner.Run;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.tensor.Backends;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiskFullCommandTest {
    @TempDir static Path dir;
    static Path corpus, data, model;

    @BeforeAll
    static void prepare() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "needs bash for ulimit -f");
        corpus = dir.resolve("c.jsonl");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 30; i++)
            s.append("{\"id\": \"n").append(i).append("\", \"text\": \"Call me Ishmael. Some years ago, never mind how ")
                    .append("long precisely, I thought I would sail about. Day ").append(i).append(".\"}\n");
        Files.writeString(corpus, s);
        data = dir.resolve("data");
        Run r = run("prepare", "--input", corpus.toString(), "--tokenizer", PrepareCommandTest.TOKENIZER,
                "--out", data.toString(), "--seq", "16", "--val-fraction", "0.2");
        assertEquals(0, r.exit(), r.err());
        model = dir.resolve("model");
        CausalLM m = Models.randomInit(Models.parseConfig(BadInputCommandTest.MODEL, Path.of("model.json")), Backends.cpu(), 5);
        Models.save(m, model);
    }

    /** kd4j args in a child JVM whose files may not grow beyond kilobytes KiB. */
    static Run underFileSizeLimit(int kilobytes, String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-XX:-UsePerfData", "-Xmx1g", "-cp",
                System.getProperty("java.class.path"), "kd4j.cli.Kd4j"));
        cmd.addAll(List.of(args));
        StringBuilder line = new StringBuilder("ulimit -f " + kilobytes + "; trap '' XFSZ; exec");
        for (String c : cmd) line.append(" '").append(c.replace("'", "'\\''")).append('\'');
        // pipes, not files: the file-size limit would cut a captured stdout or stderr file short as well
        Process p = new ProcessBuilder("/bin/bash", "-c", line.toString()).start();
        var out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
        var err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child did not finish: " + err.get(10, TimeUnit.SECONDS));
        }
        return new Run(p.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void assertFailedRunNaming(Run r, Path file) {
        assertEquals(ExitCodes.FAILED, r.exit(), r.err());
        assertTrue(r.err().contains(file.toString()) && r.err().contains("File too large"), r.err());
        assertTrue(r.err().contains("finished work is kept"), r.err());
        assertFalse(r.err().contains("\tat kd4j."), "no stack trace: " + r.err());
    }

    @Test
    void score_keepsFinishedChunks_exits1NamingTheFileAndBytes_andFinishesIdentically() throws Exception {
        Path out = dir.resolve("t.scores");
        Run full = underFileSizeLimit(1, "score", "--model", model.toString(), "--data", data.toString(),
                "--out", out.toString(), "--batch", "2", "--chunk", "1");
        assertFailedRunNaming(full, out);
        assertTrue(full.err().contains(" bytes"), full.err());
        Path parts = dir.resolve("t.scores.parts");
        try (var files = Files.list(parts)) {
            assertTrue(files.filter(p -> p.getFileName().toString().startsWith("chunk-")).count() > 0,
                    "finished chunks stay for the rerun");
        }
        assertEquals(0, run("score", "--model", model.toString(), "--data", data.toString(), "--out", out.toString(),
                "--batch", "2", "--chunk", "1").exit());
        Path fresh = dir.resolve("fresh.scores");
        assertEquals(0, run("score", "--model", model.toString(), "--data", data.toString(), "--out", fresh.toString(),
                "--batch", "2", "--chunk", "1").exit());
        assertArrayEquals(Files.readAllBytes(fresh), Files.readAllBytes(out));
    }

    @Test
    void prepare_cacheLogits_andCheckpoints_exit1NamingTheFile() throws Exception {
        Path prep = dir.resolve("prep-full");
        Run p = underFileSizeLimit(1, "prepare", "--input", corpus.toString(), "--tokenizer",
                PrepareCommandTest.TOKENIZER, "--out", prep.toString(), "--seq", "16", "--val-fraction", "0.2");
        assertFailedRunNaming(p, prep);

        Path logits = dir.resolve("logits-full");
        Run c = underFileSizeLimit(2, "cache-logits", "--model", model.toString(), "--data", data.toString(),
                "--out", logits.toString(), "--batch", "2", "--chunk", "1", "--top-k", "50");
        assertFailedRunNaming(c, logits);
        assertTrue(c.err().contains("while writing "), c.err());

        Path runDir = dir.resolve("run-full");
        Run t = underFileSizeLimit(64, "pretrain", "--train", data.toString(), "--model-config",
                model.resolve("config.json").toString(), "--out", runDir.toString(), "--max-steps", "2",
                "--seq-length", "16", "--batch-size", "2", "--checkpoint-interval", "1", "--no-progress", "--threads", "1");
        assertFailedRunNaming(t, runDir.resolve("checkpoints"));
        assertTrue(t.err().contains("checkpoint for step 1 not written") && t.err().contains("while writing "), t.err());
    }
}
