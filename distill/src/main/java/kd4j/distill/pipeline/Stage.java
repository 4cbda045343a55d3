/*
 * One cached step of the pipeline. A stage's key is the SHA-256 of its name, its config slice (the JSON of
 * exactly the settings it reads) and the keys of the stages it reads from, so a changed setting changes the
 * key of its stage and, through the chain, of every stage downstream, and of nothing else.
 *
 * On disk a stage is a folder OUT/stages/NAME holding started.json (key, written before the body runs) and
 * done.json (key + the body's result, written atomically after it). run() skips a stage whose done.json has
 * the current key, resumes one whose started.json has it (the body continues from its own checkpoints: trainer
 * checkpoints, score chunks, prepared shards) and otherwise empties the folder and runs it fresh. Every
 * decision is appended to OUT/stages.jsonl, the log tests and users read. Not thread-safe.
 */
package kd4j.distill.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import kd4j.data.AtomicFiles;

public record Stage(String name, String key, List<String> inputs) {
    public static final String LOG = "stages.jsonl";

    /** What run() did with a stage: RAN (fresh), RESUMED (continued an interrupted run) or SKIPPED (cached). */
    public enum Action { RAN, RESUMED, SKIPPED }

    public record Outcome(String stage, Action action, double seconds) {}

    /** The body of a stage: does the work in dir and returns a small JSON result (kept in done.json). */
    @FunctionalInterface
    public interface Body {
        JsonNode run(Path dir) throws Exception;
    }

    /** A stage keyed by its name, config slice and the stages it reads. */
    public static Stage of(String name, JsonNode slice, Stage... inputs) {
        StringBuilder sb = new StringBuilder("kd4j-stage-v1\n").append(name).append('\n').append(slice).append('\n');
        List<String> names = new ArrayList<>();
        for (Stage s : inputs) {
            sb.append(s.name).append('=').append(s.key).append('\n');
            names.add(s.name);
        }
        return new Stage(name, AtomicFiles.sha256(sb.toString().getBytes(StandardCharsets.UTF_8)), List.copyOf(names));
    }

    /** This stage's folder under the run folder. */
    public Path dir(Path runDir) { return runDir.resolve("stages").resolve(name); }

    /** Runs stages against one run folder, with one progress line per decision. */
    public static final class Runner {
        private final Path runDir;
        private final PrintStream log;
        private final List<Outcome> outcomes = new ArrayList<>();

        public Runner(Path runDir, PrintStream log) {
            this.runDir = runDir;
            this.log = log;
        }

        public List<Outcome> outcomes() { return List.copyOf(outcomes); }

        /** The result of stage s: from its cache when its key matches, else by running body. */
        public JsonNode run(Stage s, Body body) throws IOException {
            Path dir = s.dir(runDir);
            JsonNode done = read(dir.resolve("done.json"));
            if (done != null && s.key.equals(done.path("key").asText())) {
                record(s, Action.SKIPPED, 0);
                log.printf(Locale.ROOT, "[%s] cached, skipped%n", s.name);
                return done.get("result");
            }
            JsonNode started = read(dir.resolve("started.json"));
            Action action;
            if (started != null && s.key.equals(started.path("key").asText())) {
                action = Action.RESUMED;
                Files.deleteIfExists(dir.resolve("done.json"));
                log.printf(Locale.ROOT, "[%s] resuming an interrupted run%n", s.name);
            } else {
                action = Action.RAN;
                if (Files.exists(dir)) {
                    log.printf(Locale.ROOT, "[%s] settings or inputs changed; running it again%n", s.name);
                    deleteTree(dir);
                } else {
                    log.printf(Locale.ROOT, "[%s] running%n", s.name);
                }
                Files.createDirectories(dir);
                ObjectNode st = JsonNodeFactory.instance.objectNode().put("stage", s.name).put("key", s.key);
                st.putPOJO("inputs", s.inputs);
                AtomicFiles.write(dir.resolve("started.json"), PipelineConfig.MAPPER.writeValueAsBytes(st));
            }
            long t0 = System.nanoTime();
            JsonNode result;
            try {
                result = body.run(dir);
            } catch (IOException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IOException("stage " + s.name + " failed: " + e.getMessage(), e);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            ObjectNode d = JsonNodeFactory.instance.objectNode().put("stage", s.name).put("key", s.key)
                    .put("seconds", seconds);
            d.set("result", result == null ? JsonNodeFactory.instance.objectNode() : result);
            AtomicFiles.write(dir.resolve("done.json"), PipelineConfig.MAPPER.writeValueAsBytes(d));
            record(s, action, seconds);
            log.printf(Locale.ROOT, "[%s] done in %s%n", s.name, duration(seconds));
            return d.get("result");
        }

        /** The seconds a finished stage took when it ran (0 when unknown). */
        public double secondsOf(Stage s) throws IOException {
            JsonNode done = read(s.dir(runDir).resolve("done.json"));
            return done == null ? 0 : done.path("seconds").asDouble();
        }

        private void record(Stage s, Action action, double seconds) throws IOException {
            outcomes.add(new Outcome(s.name, action, seconds));
            ObjectNode line = JsonNodeFactory.instance.objectNode().put("time", Instant.now().toString())
                    .put("stage", s.name).put("action", action.name().toLowerCase(Locale.ROOT)).put("key", s.key)
                    .put("seconds", Math.round(seconds * 1000) / 1000.0);
            Files.createDirectories(runDir);
            Files.writeString(runDir.resolve(LOG), line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        }

        private static JsonNode read(Path p) throws IOException {
            if (!Files.isRegularFile(p)) return null;
            try {
                return PipelineConfig.MAPPER.readTree(p.toFile());
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                return null;            // a torn marker counts as absent: the stage runs again
            }
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        if (s >= 3600) return String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60);
        if (s >= 60) return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        return String.format(Locale.ROOT, "%.1fs", seconds);
    }
}
