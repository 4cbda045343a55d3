/*
 * metrics.jsonl: one JSON object per logged step (step, loss, lr, gradNorm, tokens, tokensPerSecond,
 * dataWaitShare, stepSeconds, and evalLoss / evalPerplexity when the step evaluated). Each line is flushed as
 * it is written, so a killed run loses at most the line being written. Resuming from step N first drops every
 * line after step N, so a resumed run's file equals an uninterrupted run's (timings aside).
 */
package kd4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import kd4j.data.AtomicFiles;
import java.util.List;

public final class Metrics implements Closeable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    private final BufferedWriter out;

    private Metrics(Path file, BufferedWriter out) {
        this.file = file;
        this.out = out;
    }

    /** Starts a new file (replacing any old one). */
    public static Metrics create(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        return new Metrics(file, Files.newBufferedWriter(file, StandardCharsets.UTF_8));
    }

    /** Continues file after a resume from step `step`: lines of later steps (and a torn last line) are dropped. */
    public static Metrics resume(Path file, long step) throws IOException {
        if (!Files.exists(file)) return create(file);
        List<String> kept = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (IOException torn) {
                continue;       // the line a killed run was writing
            }
            if (n.path("step").asLong(Long.MAX_VALUE) <= step) kept.add(line);
        }
        StringBuilder text = new StringBuilder();
        for (String line : kept) text.append(line).append('\n');
        AtomicFiles.write(file, text.toString());
        return new Metrics(file, Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND));
    }

    public Path file() { return file; }

    /** Appends one step and flushes. */
    public void log(StepResult r) throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("step", r.step()).put("loss", r.loss()).put("lr", r.lr()).put("gradNorm", r.gradNorm())
                .put("tokens", r.tokens()).put("tokensPerSecond", round(r.tokensPerSecond()))
                .put("dataWaitShare", round(r.dataWaitShare())).put("stepSeconds", round(r.stepSeconds()));
        if (r.hasEval()) n.put("evalLoss", r.evalLoss()).put("evalPerplexity", Math.exp(r.evalLoss()));
        for (var e : new java.util.TreeMap<>(r.extra()).entrySet()) n.put(e.getKey(), e.getValue());
        String line = JSON.writeValueAsString(n);
        try {
            out.write(line);
            out.write('\n');
            out.flush();
        } catch (IOException e) {
            throw kd4j.data.DiskFullException.named(e, file, line.length() + 1L);
        }
    }

    private static double round(double v) { return Math.round(v * 1e4) / 1e4; }

    /** Every line of a metrics file, parsed. */
    public static List<JsonNode> read(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        int lineNo = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            lineNo++;
            if (line.isBlank()) continue;
            try {
                out.add(JSON.readTree(line));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IOException(file + ":" + lineNo + ": not a JSON object (" + e.getOriginalMessage() + ")");
            }
        }
        return out;
    }

    @Override
    public void close() throws IOException { out.close(); }
}
