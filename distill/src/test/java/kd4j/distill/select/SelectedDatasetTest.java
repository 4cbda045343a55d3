package kd4j.distill.select;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import kd4j.data.DatasetInstances;
import kd4j.data.Prepare;
import kd4j.data.TokenDataset;
import kd4j.distill.select.DifferenceSampling.MissingPolicy;
import kd4j.distill.select.DifferenceSampling.Selection;
import kd4j.tokenizers.Tokenizer;
import kd4j.tokenizers.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Prepare a small two-source corpus, select on hand-made scores, write the refined set, read it back. */
class SelectedDatasetTest {
    @TempDir Path dir;

    static Path tokenizerDir() throws Exception {
        return Path.of(SelectedDatasetTest.class.getResource("/kd4j/distill/brown-bpe-512/tokenizer.json").toURI()).getParent();
    }

    Path prepare(Tokenizer tok, Prepare.Format format) throws Exception {
        Path a = dir.resolve("whales.jsonl"), b = dir.resolve("speeches.jsonl");
        StringBuilder wa = new StringBuilder(), wb = new StringBuilder();
        for (int i = 0; i < 12; i++) {
            wa.append("{\"id\":\"w").append(i).append("\",\"text\":\"The whale swam far out to sea on day ").append(i)
              .append(". The crew watched it go. Nobody spoke of it again.\"}\n");
            wb.append("{\"id\":\"s").append(i).append("\",\"text\":\"Mr. Speaker, the state of the union is strong in year ")
              .append(i).append(". We shall build roads. We shall build schools.\"}\n");
        }
        Files.writeString(a, wa);
        Files.writeString(b, wb);
        Path out = dir.resolve("prepared-" + format);
        Prepare.run(Prepare.Options.defaults(List.of(a, b), out).withSeq(24).withValidation(0.2).withThreads(1)
                .withFormat(format), tok, line -> {});
        return out;
    }

    @Test
    void keptInstances_areWrittenInCorpusOrder_withValidationUnchanged_andAReport() throws Exception {
        Tokenizer tok = Tokenizers.load(tokenizerDir());
        Path data = prepare(tok, Prepare.Format.KD4J);
        try (DatasetInstances src = DatasetInstances.open(data, null)) {
            int n = (int) src.size();
            assertTrue(n >= 8, "enough instances to select from: " + n);
            // hand-made scores: difference = (id * 7 % n) / n, one missing instance (id 1)
            double[] t = new double[n], r = new double[n];
            for (int i = 0; i < n; i++) t[i] = (double) (i * 7 % n) / n;
            t[1] = Double.NaN;
            Selection s = DifferenceSampling.select(t, r, 0.5, MissingPolicy.EXCLUDE);
            List<Integer> expected = new ArrayList<>();
            for (int i = 0; i < n; i++) if (i != 1) expected.add(i);
            expected.sort((x, y) -> Integer.compare(y * 7 % n, x * 7 % n) != 0 ? Integer.compare(y * 7 % n, x * 7 % n) : Integer.compare(x, y));
            int k = (n - 1) / 2;
            int[] keptExpected = expected.subList(0, k).stream().mapToInt(Integer::intValue).sorted().toArray();
            assertArrayEquals(keptExpected, s.kept());

            Path out = dir.resolve("refined");
            SelectedDataset.write(src, s, out, null, null, Map.of("teacherScores", "t.scores"));
            assertArrayEquals(keptExpected, SelectedDataset.readKeptIds(out));
            try (TokenDataset refined = TokenDataset.open(out)) {
                refined.verify();
                var train = refined.instances(TokenDataset.Split.TRAIN);
                assertEquals(k, train.size());
                for (int j = 0; j < k; j++) assertArrayEquals(src.get(keptExpected[j]), train.get(j), "kept instance " + j);
                var validOld = src.dataset().instances(TokenDataset.Split.VALID);
                var validNew = refined.instances(TokenDataset.Split.VALID);
                assertEquals(validOld.size(), validNew.size());
                for (long i = 0; i < validOld.size(); i++) assertArrayEquals(validOld.get(i), validNew.get(i));
                assertEquals(src.tokenizerFingerprint(), refined.manifest().orElseThrow().tokenizer().fingerprint());
            }

            List<String> sources = src.instanceSources();
            assertEquals(n, sources.size());
            assertTrue(sources.stream().allMatch(x -> x.equals("whales.jsonl") || x.equals("speeches.jsonl")), sources.toString());
            Path report = SelectionReport.write(dir.resolve("report"), s, "t.scores", "r.scores", sources::get,
                    id -> tok.decode(src.get(id), true));
            String md = Files.readString(report);
            assertTrue(md.contains("| kept | " + k + " ("), md);
            assertTrue(md.contains("| missing (no counted token; excluded, never kept) | 1 |"), md);
            assertTrue(md.contains("| whales.jsonl |") && md.contains("| speeches.jsonl |"), md);
            assertTrue(Files.size(dir.resolve("report/histogram.png")) > 1000);
            assertTrue(Files.readString(dir.resolve("report/histogram.svg")).contains("<svg"));

            // Sub-domains of a source ("file / group"): a subtotal row for the file, a row per group, and domains.json.
            Path sub = SelectionReport.write(dir.resolve("report-sub"), s, "t.scores", "r.scores",
                    i -> i % 2 == 0 ? "mail.jsonl / ham" : "mail.jsonl / spam (spam)", id -> tok.decode(src.get(id), true));
            String subMd = Files.readString(sub);
            int evens = (n + 1) / 2, keptEven = 0;
            for (int id : keptExpected) if (id % 2 == 0) keptEven++;
            assertTrue(subMd.contains("| **mail.jsonl** | " + n + " | " + k + " |"), subMd);
            assertTrue(subMd.contains("| &nbsp;&nbsp;mail.jsonl / ham | " + evens + " | " + keptEven + " |"), subMd);
            var domains = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("report-sub/domains.json").toFile());
            assertEquals(n - evens, domains.get("mail.jsonl / spam (spam)").get("instances").asInt());
            assertEquals(k - keptEven, domains.get("mail.jsonl / spam (spam)").get("kept").asInt());
            int top = domains.get("mail.jsonl / ham").get("topKept").get("id").asInt();
            assertTrue(s.isKept(top) && top % 2 == 0, "the ham instance kept with the highest difference: " + top);
            for (int id : keptExpected) if (id % 2 == 0) assertTrue(s.difference()[id] <= s.difference()[top]);
        }
    }

    /**
     * Packed re-tokenization: the kept instances (every other one, so none adjacent) are re-tokenized whole and
     * joined with the student's EOS, then cut into full rows; the rows concatenated are exactly that stream.
     */
    @Test
    void packedCrossTokenizer_fillsEveryRowButTheLast() throws Exception {
        Tokenizer tok = Tokenizers.load(tokenizerDir());
        Path data = prepare(tok, Prepare.Format.KD4J);
        Tokenizer student = new RetokenizerTest.Chars(false) {
            @Override public int[] encode(String text) { return text.chars().map(c -> 2 + (c & 0x3F)).toArray(); }
            @Override public int vocabSize() { return 66; }
        };
        try (DatasetInstances src = DatasetInstances.open(data, null)) {
            int n = (int) src.size();
            double[] t = new double[n], r = new double[n];
            for (int i = 0; i < n; i++) t[i] = i % 2 == 0 ? 1 + i * 1e-3 : -1;
            Selection s = DifferenceSampling.select(t, r, 0.5, MissingPolicy.EXCLUDE);
            Retokenizer rt = new Retokenizer(tok, student);
            List<Integer> stream = new ArrayList<>();
            int previous = -2;
            for (int id : s.kept()) {
                if (previous >= 0 && id != previous + 1) stream.add(student.eosId());
                for (int x : rt.map(src.get(id), Integer.MAX_VALUE)) stream.add(x);
                previous = id;
            }
            Path out = dir.resolve("refined-packed");
            SelectedDataset.write(src, s, out, rt, student, Map.of(), true);
            int length = src.dataset().instanceLength();
            try (TokenDataset refined = TokenDataset.open(out)) {
                var train = refined.instances(TokenDataset.Split.TRAIN);
                assertEquals((stream.size() + length - 1) / length, train.size());
                List<Integer> joined = new ArrayList<>();
                for (long j = 0; j < train.size(); j++) {
                    int[] row = train.get(j);
                    if (j < train.size() - 1) assertEquals(length, row.length, "row " + j + " is full");
                    for (int x : row) joined.add(x);
                }
                assertEquals(stream, joined);
                assertEquals(stream.size(), refined.manifest().orElseThrow().train().instanceTokens());
            }
        }
    }

    @Test
    void bareMegatronCorpus_isScoredWithAGivenTokenizer_andRefusedWithout() throws Exception {
        Tokenizer tok = Tokenizers.load(tokenizerDir());
        Path prefix = prepare(tok, Prepare.Format.MEGATRON).resolve("train_0");
        var e = assertThrows(kd4j.data.DataFormatException.class, () -> DatasetInstances.open(prefix, null));
        assertTrue(e.getMessage().contains("a bare Megatron corpus records no tokenizer; pass --tokenizer"), e.getMessage());
        try (DatasetInstances bare = DatasetInstances.open(Path.of(prefix + ".bin"), tok);
             DatasetInstances prepared = DatasetInstances.open(prefix.getParent(), null)) {
            assertEquals(prepared.size(), bare.size());
            assertEquals(prepared.tokenizerFingerprint(), bare.tokenizerFingerprint());
            assertEquals(tok.eosId(), bare.eosId());
            for (long i = 0; i < bare.size(); i++) assertArrayEquals(prepared.get(i), bare.get(i));
            assertEquals(64, bare.corpusChecksum().length());
        }
    }

    @Test
    void megatronLayout_andCrossTokenizer_mapOneInstanceToOne() throws Exception {
        Tokenizer tok = Tokenizers.load(tokenizerDir());
        Path data = prepare(tok, Prepare.Format.MEGATRON);
        Tokenizer student = new RetokenizerTest.Chars(true) {
            // the char tokenizer of RetokenizerTest, made total over the corpus's characters for this test
            @Override public int[] encode(String text) { return text.chars().map(c -> 2 + (c & 0x3F)).toArray(); }
            @Override public int vocabSize() { return 66; }
        };
        try (DatasetInstances src = DatasetInstances.open(data, null)) {
            int n = (int) src.size();
            double[] t = new double[n], r = new double[n];
            for (int i = 0; i < n; i++) t[i] = -i;       // keeps the first half
            Selection s = DifferenceSampling.select(t, r, 0.5, MissingPolicy.EXCLUDE);
            Retokenizer rt = new Retokenizer(tok, student);
            Path out = dir.resolve("refined-student");
            SelectedDataset.write(src, s, out, rt, student, Map.of());
            try (TokenDataset refined = TokenDataset.open(out)) {
                assertEquals("megatron", refined.manifest().orElseThrow().instanceFormat());
                var train = refined.instances(TokenDataset.Split.TRAIN);
                assertEquals(n / 2, train.size());
                int length = src.dataset().instanceLength();
                for (int j = 0; j < n / 2; j++) {
                    int[] mapped = train.get(j);
                    assertTrue(mapped.length <= length, "cut to the instance length");
                    assertArrayEquals(rt.map(src.get(j), length), mapped);
                    assertEquals(0, mapped[0], "student BOS first");
                }
            }
        }
    }

    /** Score files over src's instances claiming corpus checksum `checksum`: difference = id, so the last ids win. */
    private Path[] scores(DatasetInstances src, String checksum) throws Exception {
        int n = (int) src.size();
        Path[] files = {dir.resolve(checksum + "-teacher.scores"), dir.resolve(checksum + "-reference.scores")};
        for (int f = 0; f < 2; f++) {
            double[] mean = new double[n], sum = new double[n];
            int[] count = new int[n];
            for (int i = 0; i < n; i++) {
                mean[i] = f == 0 ? i : 0;
                sum[i] = mean[i] * 4;
                count[i] = 4;
            }
            var manifest = kd4j.distill.score.ScoreManifest.of(checksum, n, src.tokenizerFingerprint(), "model-" + f,
                    src.eosId(), src.padId(), kd4j.data.Shard.WHOLE);
            new kd4j.distill.score.ScoreFile(manifest, sum, mean, count).write(files[f]);
        }
        return files;
    }

    @Test
    void selectJob_keepsTheTopShare_andRefusesDataThatIsNotTheScoredCorpus() throws Exception {
        Tokenizer tok = Tokenizers.load(tokenizerDir());
        Path data = prepare(tok, Prepare.Format.KD4J);
        Path[] good, foreign;
        int n;
        try (DatasetInstances src = DatasetInstances.open(data, null)) {
            n = (int) src.size();
            good = scores(src, src.corpusChecksum());
            foreign = scores(src, "another-corpus");
        }
        Path out = dir.resolve("job"), report = dir.resolve("job-report");
        SelectJob.Result r = SelectJob.run(new SelectJob.Config(good[0], good[1], 0.5, data, tokenizerDir(), null, false,
                MissingPolicy.EXCLUDE, out, report, "teacher", "reference", source -> {
                    List<String> labels = new ArrayList<>();
                    for (long i = 0; i < source.size(); i++) labels.add(i % 2 == 0 ? "even" : "odd");
                    return labels;
                }));
        int k = n / 2;
        int[] expected = new int[k];
        for (int j = 0; j < k; j++) expected[j] = n - k + j;
        assertArrayEquals(expected, r.selection().kept());
        assertArrayEquals(expected, SelectedDataset.readKeptIds(out));
        assertEquals(k, r.written().train().instances());
        assertTrue(Files.isRegularFile(r.report()) && r.report().startsWith(report), String.valueOf(r.report()));
        assertTrue(Files.readString(r.report()).contains("even"), "the report uses the given labels");

        // the check `kd4j select` had alone is the job's, so the pipeline's select stage makes it too
        var e = assertThrows(kd4j.distill.score.ScoreFileException.class, () -> SelectJob.run(new SelectJob.Config(
                foreign[0], foreign[1], 0.5, data, null, null, false, MissingPolicy.EXCLUDE, dir.resolve("job2"), null,
                "teacher", "reference", null)));
        assertTrue(e.getMessage().startsWith(data + " is not the corpus " + foreign[0] + " scored (its instance checksum is "),
                e.getMessage());
        assertFalse(Files.exists(dir.resolve("job2")), "nothing written");
    }
}
