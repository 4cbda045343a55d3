/*
 * `kd4j select`: MiniPLM's Difference Sampling. Keeps the top --ratio of instances by mean log p(teacher) - mean
 * log p(reference) (deterministic top-k, ties to the lower id), writes them in corpus order as a new prepared data
 * set, optionally re-tokenized for a student with another tokenizer, and writes a selection report.
 */
package kd4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import kd4j.data.DatasetInstances;
import kd4j.data.Prepare;
import kd4j.distill.score.ScoreFile;
import kd4j.distill.score.ScoreFileException;
import kd4j.distill.select.DifferenceSampling;
import kd4j.distill.select.DifferenceSampling.MissingPolicy;
import kd4j.distill.select.DifferenceSampling.Selection;
import kd4j.distill.select.Retokenizer;
import kd4j.distill.select.SelectedDataset;
import kd4j.distill.select.SelectionReport;
import kd4j.tokenizers.Tokenizer;
import kd4j.tokenizers.Tokenizers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "select", mixinStandardHelpOptions = true,
        description = {"Difference Sampling: keep the top --ratio of instances by mean log p(teacher) - mean log "
                + "p(reference), write them as a new prepared data set (corpus order) and a selection report."})
public final class SelectCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--teacher-scores", required = true, paramLabel = "FILE", description = "kd4j score output of the teacher (merged if sharded)")
    Path teacherScores;

    @Option(names = "--reference-scores", required = true, paramLabel = "FILE", description = "kd4j score output of the small reference model")
    Path referenceScores;

    @Option(names = "--ratio", required = true, paramLabel = "R", description = "share of scored instances to keep, in (0, 1]")
    double ratio;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "the refined data set (and report/) to write")
    Path out;

    @Option(names = "--data", paramLabel = "DIR|PREFIX", description = "the scored data set (default: the path recorded in the score files)")
    Path data;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "the corpus's tokenizer: text snippets in the report; required with --student-tokenizer")
    Path tokenizer;

    @Option(names = "--student-tokenizer", paramLabel = "DIR",
            description = "re-tokenize the kept instances for a student with this tokenizer (one instance to one, same length)")
    Path studentTokenizer;

    @Option(names = "--missing", paramLabel = "POLICY", defaultValue = "exclude",
            description = "instances without a score (every input token EOS/padding): exclude (never kept, counted) or refuse (default: ${DEFAULT-VALUE})")
    MissingPolicy missing;

    @Option(names = "--verbose", description = "print stack traces of unexpected errors")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        if (!(ratio > 0 && ratio <= 1))
            throw new ParameterException(spec.commandLine(), "--ratio must be in (0, 1], got " + ratio);
        if (studentTokenizer != null && tokenizer == null)
            throw new ParameterException(spec.commandLine(), "--student-tokenizer needs --tokenizer (the corpus's tokenizer, to decode the instances)");
        ScoreFile teacher = ScoreFile.read(teacherScores), reference = ScoreFile.read(referenceScores);
        Selection s = DifferenceSampling.select(teacher, teacherScores, reference, referenceScores, ratio, missing);

        Path dataPath = data;
        if (dataPath == null) {
            String recorded = teacher.manifest().data();
            if (recorded == null)
                throw new ParameterException(spec.commandLine(), teacherScores + " records no data set path; give --data");
            dataPath = Path.of(recorded);
        }
        Tokenizer corpusTok = tokenizer == null ? null : Tokenizers.load(tokenizer);
        try (DatasetInstances source = DatasetInstances.open(dataPath, corpusTok)) {
            if (!source.corpusChecksum().equals(teacher.manifest().corpusChecksum()))
                throw new ScoreFileException(dataPath + " is not the corpus " + teacherScores + " scored (its instance "
                        + "checksum is " + source.corpusChecksum() + ", the scores say " + teacher.manifest().corpusChecksum() + ")");
            Tokenizer student = studentTokenizer == null ? null : Tokenizers.load(studentTokenizer);
            Retokenizer retok = student == null ? null : new Retokenizer(corpusTok, student);
            Map<String, Object> provenance = new LinkedHashMap<>();
            provenance.put("teacherScores", teacherScores.toAbsolutePath().normalize().toString());
            provenance.put("teacherModel", teacher.manifest().modelId());
            provenance.put("referenceScores", referenceScores.toAbsolutePath().normalize().toString());
            provenance.put("referenceModel", reference.manifest().modelId());
            provenance.put("missingPolicy", missing.name().toLowerCase(Locale.ROOT));
            if (student != null) provenance.put("studentTokenizer", Prepare.fingerprint(student));
            SelectedDataset.write(source, s, out, retok, student, provenance);
            List<String> sources = source.instanceSources();
            Tokenizer snippets = corpusTok;
            Path report = SelectionReport.write(out.resolve("report"), s, teacherScores.toString(), referenceScores.toString(),
                    sources::get, snippets == null ? null : id -> snippets.decode(source.get(id), true));
            var o = spec.commandLine().getOut();
            o.printf(Locale.ROOT, "kept %,d of %,d scored instances (ratio %s, cut-off %.4f; %,d without a score excluded)%n",
                    s.keptCount(), s.scoredCount(), ratio, s.cutoff(), s.missing().length);
            o.printf("refined data set: %s%nreport: %s%n", out, report);
            if (!Files.exists(report)) return ExitCodes.FAILED;
            return ExitCodes.OK;
        }
    }
}
