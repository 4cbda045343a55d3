/*
 * The pipeline end to end at a tiny scale (seconds): tiny models, a few steps, a slice of the bundled Moby-Dick
 * corpus. One run is shared by the tests in order: it must write a report with every method's row and finite
 * numbers; a rerun must skip every stage; a changed student setting must rerun exactly the student stages,
 * their evaluations and the report. The Brown column is checked when the fixtures are present.
 */
package kd4j.distill.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PipelineTest {
    /** The repository root: Maven runs tests in distill/, the bundled corpus is in ../corpora. */
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @TempDir static Path tmp;
    static Path runDir;
    static Pipeline.Result first;
    static final List<String> METHODS = List.of("teacher", "reference", "nokd", "miniplm", "miniplm-r0.3", "vanillakd",
            "cross-miniplm", "cross-nokd");

    static String tinyConfig(Path out, double studentLr) {
        return """
                {
                  "data": {"inputs": ["corpora/moby-dick.jsonl.gz"], "outOfDomain": ["corpora/spam-assassin.jsonl.gz"],
                           "referenceEvery": 4, "charsPerDocument": 600, "seq": 32},
                  "tokenizer": {"vocabSize": 300, "studentVocabSize": 320},
                  "teacher": {"model": {"hidden": 32, "layers": 1}, "steps": 6, "batchSize": 4},
                  "reference": {"model": {"hidden": 16, "layers": 1, "heads": 2, "kvHeads": 1}, "steps": 3, "batchSize": 4, "subset": 0.5},
                  "students": {"training": {"model": {"hidden": 16, "layers": 1, "heads": 2, "kvHeads": 1}, "steps": 4,
                                            "batchSize": 4, "lr": %s},
                               "crossModel": {"family": "llama", "hidden": 16, "layers": 1, "heads": 2, "kvHeads": 1}},
                  "selection": {"curve": [0.3]},
                  "evaluation": {"charsPerDocument": 200, "outOfDomainDocuments": 2, "brownDocuments": 2, "pairsPerParadigm": 1,
                                 "taskExamples": 4},
                  "run": {"out": "%s", "threads": 2}
                }
                """.formatted(studentLr, out.toString().replace("\\", "\\\\"));
    }

    static Pipeline.Result run(String config) throws Exception {
        PipelineConfig cfg = PipelineConfig.parse(Path.of("tiny.json"), config);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (PrintStream ps = new PrintStream(log, true, StandardCharsets.UTF_8)) {
            return new Pipeline(cfg, ROOT, ps).run();
        }
    }

    @BeforeAll
    static void runOnce() throws Exception {
        runDir = tmp.resolve("run");
        first = run(tinyConfig(runDir, 2e-3));
    }

    static boolean brownPresent() {
        String f = System.getProperty("kd4j.fixtures", System.getenv("KD4J_FIXTURES"));
        return f != null && Files.isRegularFile(Path.of(f, "corpus", "brown.jsonl"));
    }

    @Test
    @Order(1)
    void tinyPipeline_writesReportWithEveryMethodAndFiniteNumbers() throws Exception {
        for (Stage.Outcome o : first.outcomes()) assertEquals(Stage.Action.RAN, o.action(), o.stage());
        JsonNode results = PipelineConfig.MAPPER.readTree(runDir.resolve(Report.RESULTS).toFile());
        List<String> methods = new ArrayList<>();
        for (JsonNode m : results.get("methods")) {
            String method = m.get("method").asText();
            methods.add(method);
            double in = m.get("inDomain").get("mean").asDouble();
            assertTrue(Double.isFinite(in) && in > 0 && in < 10, method + ": in-domain loss " + in);
            double acc = m.get("accuracy").get("mean").asDouble();
            assertTrue(acc >= 0 && acc <= 1, method + ": accuracy " + acc);
            double ood = m.get("outOfDomain").get("mean").asDouble();
            assertTrue(Double.isFinite(ood) && ood > 0 && ood < 10, method + ": out-of-domain loss " + ood);
            double blimp = m.get("pairs").get("mean").asDouble();
            assertTrue(blimp >= 0 && blimp <= 1, method + ": BLiMP accuracy " + blimp);
            assertEquals(67, m.get("pairExamples").asInt(), method + ": one pair of each BLiMP paradigm");
            assertTrue(m.get("trainFlops").asDouble() > 0, method + ": training FLOPs");
            if (brownPresent()) {
                double brown = m.get("brown").get("mean").asDouble();
                assertTrue(Double.isFinite(brown) && brown > 0, method + ": Brown loss " + brown);
            }
        }
        assertEquals(METHODS, methods);
        // Vanilla KD pays for the online teacher with fewer steps; MiniPLM trains as long as the baseline.
        JsonNode runs = results.get("runs");
        assertEquals(run(runs, "nokd").get("train").get("steps").asLong(), run(runs, "miniplm").get("train").get("steps").asLong());
        assertTrue(run(runs, "vanillakd").get("train").get("steps").asLong() < run(runs, "nokd").get("train").get("steps").asLong());
        assertTrue(run(runs, "vanillakd").get("train").get("teacherFlops").asDouble() > 0);
        // MiniPLM's students read the refined corpus: half of the scored instances.
        assertEquals(results.get("offline").get("selection").get("scored").asLong() / 2,
                results.get("offline").get("selection").get("kept").asLong());

        // The split: every 10th of Moby-Dick's 135 chapters held out, every 4th of the rest the reference model's own
        // data, the others the pool; the e-mail corpus is out-of-domain; no text shared between the sets.
        JsonNode split = results.get("offline").get("split");
        assertEquals(14, split.get("heldOut").get("documents").asInt());
        assertEquals(31, split.get("reference").get("documents").asInt());
        assertEquals(90, split.get("pool").get("documents").asInt());
        assertEquals(1000, split.get("outOfDomain").get("documents").asInt());
        assertEquals(0, split.get("sharedPoolReference").asInt());
        assertEquals(0, split.get("sharedPoolHeldOut").asInt());
        assertEquals(results.get("offline").get("pool").get("instances").asLong(), results.get("offline").get("teacherScores").get("instances").asLong());
        assertTrue(results.get("offline").get("teacherData").get("tokens").asLong()
                > results.get("offline").get("pool").get("tokens").asLong(), "the teacher reads pool + reference data");
        // The cross student's refined rows are packed: all full but the last.
        JsonNode cross = results.get("offline").get("crossRefined");
        assertTrue(cross.get("tokens").asLong() > 33L * (cross.get("rows").asLong() - 1), cross.toString());
        // Paired comparisons, with the curve's ratio against the baseline.
        List<String> compared = new ArrayList<>();
        for (JsonNode c : results.get("comparisons")) compared.add(c.get("method").asText() + "/" + c.get("metric").asText());
        assertTrue(compared.contains("miniplm/in-domain loss") && compared.contains("miniplm-r0.3/BLiMP accuracy")
                && compared.contains("miniplm-r0.3/out-of-domain loss"), compared.toString());

        String md = Files.readString(runDir.resolve(Report.MARKDOWN));
        assertTrue(md.contains("Disjoint: no document text occurs in two of"), md);
        assertTrue(md.contains("| 0.3 |") && md.contains("| 0.5 |"), "the ratio curve's table:\n" + md);
        for (String label : List.of("| Teacher |", "| Reference model |", "| Pre-Train w/o KD |", "| Vanilla KD |",
                "| MiniPLM |", "| MiniPLM (llama, own tokenizer) |", "| Pre-Train w/o KD (llama, own tokenizer) |")) {
            String row = md.lines().filter(l -> l.startsWith(label)).findFirst().orElseThrow(() -> new AssertionError("no row " + label + " in\n" + md));
            String[] cells = row.split("\\|");
            Double.parseDouble(cells[3].trim().split(" ")[0]);          // in-domain loss is a number
            Double.parseDouble(cells[5].trim().split(" ")[0]);          // accuracy is a number
        }
        for (String plot : List.of("loss-by-method.png", "loss-by-method.svg", "training-loss.png", "blimp-by-field.png",
                "loss-out-of-domain-by-method.png", "ratio-curve-loss.png", "ratio-curve-loss-out-of-domain.png", "ratio-curve-blimp.png"))
            assertTrue(Files.size(runDir.resolve("plots").resolve(plot)) > 1000, plot);
        // The in-domain loss split by domain (one domain here: the pool is Moby-Dick alone) adds up to the whole.
        for (JsonNode r : runs) {
            JsonNode in = r.get("eval").get("inDomain"), moby = in.get("byDomain").get("moby-dick.jsonl.gz");
            assertEquals(1, in.get("byDomain").size(), r.get("stage").asText());
            assertEquals(in.get("tokens").asLong(), moby.get("tokens").asLong());
            assertEquals(in.get("documents").asLong(), moby.get("documents").asLong());
            assertEquals(in.get("loss").asDouble(), moby.get("loss").asDouble(), 1e-12);
        }
        assertTrue(md.contains("### In-domain loss per domain") && md.contains("| moby-dick.jsonl.gz | 14 |"), md);
        assertTrue(Files.isRegularFile(runDir.resolve("stages/select/report/report.md")));
    }

    private static JsonNode run(JsonNode runs, String method) {
        for (JsonNode r : runs) if (r.get("method").asText().equals(method)) return r;
        throw new AssertionError("no run of " + method);
    }

    @Test
    @Order(2)
    void rerun_skipsEveryStage() throws Exception {
        long linesBefore = Files.readAllLines(runDir.resolve(Stage.LOG)).size();
        Pipeline.Result again = run(tinyConfig(runDir, 2e-3));
        assertEquals(first.outcomes().size(), again.outcomes().size());
        for (Stage.Outcome o : again.outcomes()) assertEquals(Stage.Action.SKIPPED, o.action(), o.stage());
        List<String> log = Files.readAllLines(runDir.resolve(Stage.LOG));
        for (String line : log.subList((int) linesBefore, log.size())) assertTrue(line.contains("\"action\":\"skipped\""), line);
        // The cached results are the same numbers.
        for (int i = 0; i < first.methods().size(); i++)
            assertEquals(first.methods().get(i).eval().toString(), again.methods().get(i).eval().toString());
    }

    @Test
    @Order(3)
    void changedStudentSetting_rerunsOnlyStudentsTheirEvaluationsAndReport() throws Exception {
        Pipeline.Result changed = run(tinyConfig(runDir, 3e-3));
        Set<String> ran = new TreeSet<>();
        for (Stage.Outcome o : changed.outcomes()) if (o.action() != Stage.Action.SKIPPED) ran.add(o.stage());
        Set<String> expected = new TreeSet<>();
        for (String s : List.of("nokd", "miniplm", "miniplm-r0.3", "vanillakd", "cross-miniplm", "cross-nokd")) {
            expected.add("student-" + s + "-s1234");
            expected.add("eval-student-" + s + "-s1234");
        }
        expected.add("report");
        assertEquals(expected, ran);
        for (String upstream : List.of("corpus", "tokenizer", "prepare", "prepare-reference", "prepare-teacher", "teacher",
                "reference", "score-teacher", "score-reference", "select", "select-student", "select-r0.3", "eval-teacher",
                "eval-reference"))
            assertFalse(ran.contains(upstream), upstream + " should have been cached");
    }

    /**
     * The same config run again from scratch, in another folder, on 2 threads and with the JIT now warm (the first
     * run was largely interpreted): every training loss of every step, every score and every evaluation is
     * bit-identical. The CPU kernels reduce in a fixed order whatever the thread timing and JIT tier, so a rerun
     * is a replay, and a difference between two configs is never run-to-run noise.
     */
    @Test
    @Order(4)
    void freshRerunOfTheSameConfig_isBitIdentical() throws Exception {
        Path again = tmp.resolve("again");
        // The students of runDir were last trained with lr 3e-3 (test 3), so that is the config replayed here.
        Pipeline.Result second = run(tinyConfig(again, 3e-3));
        Pipeline.Result cached = run(tinyConfig(runDir, 3e-3));
        for (Stage.Outcome o : second.outcomes()) assertEquals(Stage.Action.RAN, o.action(), o.stage());
        for (String stage : List.of("teacher", "reference", "student-nokd-s1234", "student-miniplm-s1234", "student-miniplm-r0.3-s1234",
                "student-vanillakd-s1234", "student-cross-miniplm-s1234", "student-cross-nokd-s1234")) {
            List<String> a = lossesByStep(runDir.resolve("stages").resolve(stage).resolve("metrics.jsonl"));
            List<String> b = lossesByStep(again.resolve("stages").resolve(stage).resolve("metrics.jsonl"));
            assertFalse(a.isEmpty(), stage);
            assertEquals(a, b, stage + ": training losses differ between two runs of the same config");
        }
        for (String stage : List.of("score-teacher", "score-reference")) {
            var a = kd4j.distill.score.ScoreFile.read(runDir.resolve("stages").resolve(stage).resolve("scores.bin"));
            var b = kd4j.distill.score.ScoreFile.read(again.resolve("stages").resolve(stage).resolve("scores.bin"));
            assertEquals(a.size(), b.size(), stage);
            for (int i = 0; i < a.size(); i++) {
                assertEquals(a.count(i), b.count(i), stage + " instance " + i);
                assertEquals(Double.doubleToRawLongBits(a.sum(i)), Double.doubleToRawLongBits(b.sum(i)),
                        stage + " instance " + i + ": " + a.sum(i) + " vs " + b.sum(i));
            }
        }
        assertEquals(cached.methods().size(), second.methods().size());
        for (int i = 0; i < second.methods().size(); i++)
            assertEquals(cached.methods().get(i).eval().toString(), second.methods().get(i).eval().toString(),
                    second.methods().get(i).label() + ": evaluation differs");
        assertEquals(Files.readAllLines(runDir.resolve("stages/select/report/report.md")),
                Files.readAllLines(again.resolve("stages/select/report/report.md")));
    }

    /** "step loss gradNorm" of every logged step, the loss and norm as exact bit patterns. */
    private static List<String> lossesByStep(Path metrics) throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            JsonNode n = PipelineConfig.MAPPER.readTree(line);
            if (!n.has("loss")) continue;
            out.add(n.get("step").asLong() + " " + Long.toHexString(Double.doubleToRawLongBits(n.get("loss").asDouble()))
                    + " " + Long.toHexString(Double.doubleToRawLongBits(n.path("gradNorm").asDouble())));
        }
        return out;
    }
}
