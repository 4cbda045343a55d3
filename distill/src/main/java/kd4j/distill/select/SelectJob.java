/*
 * The select job (MiniPLM's Difference Sampling), written once for `kd4j select` and the pipeline's select stage:
 * read the teacher's and the reference's score files, keep the top ratio by the difference of their mean
 * log-probabilities, check that the data set is the corpus the scores were computed on (instance checksum),
 * write the kept instances as a prepared data set (optionally re-tokenized for a student) and the selection report.
 */
package kd4j.distill.select;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import kd4j.data.DatasetInstances;
import kd4j.data.Prepare;
import kd4j.data.TokenDataset;
import kd4j.distill.score.ScoreFile;
import kd4j.distill.score.ScoreFileException;
import kd4j.distill.select.DifferenceSampling.MissingPolicy;
import kd4j.distill.select.DifferenceSampling.Selection;
import kd4j.tokenizers.Tokenizer;
import kd4j.tokenizers.Tokenizers;

public final class SelectJob {
    /** The labels of instances in the report's kept-share table, read from the data set once it is open. */
    @FunctionalInterface
    public interface InstanceLabels {
        List<String> of(DatasetInstances source) throws IOException;
    }

    /**
     * One selection. data null: the data set path the teacher's score file records. tokenizer (the corpus's) is
     * needed for report snippets and for studentTokenizer; studentTokenizer re-tokenizes the kept instances (and
     * packRows packs them into full rows). reportDir null writes no report; labels null labels each instance by the
     * source file of its document. teacherName / referenceName head the report's columns.
     */
    public record Config(Path teacherScores, Path referenceScores, double ratio, Path data, Path tokenizer,
                         Path studentTokenizer, boolean packRows, MissingPolicy missing, Path out, Path reportDir,
                         String teacherName, String referenceName, InstanceLabels labels) {
        public Config {
            if (!(ratio > 0 && ratio <= 1)) throw new IllegalArgumentException("--ratio must be in (0, 1], got " + ratio);
            if (studentTokenizer != null && tokenizer == null)
                throw new IllegalArgumentException("--student-tokenizer needs --tokenizer (the corpus's tokenizer, to decode the instances)");
        }
    }

    /** What was selected and written; report is null when none was asked for. */
    public record Result(Selection selection, TokenDataset.Manifest written, Path report) {}

    private SelectJob() {}

    public static Result run(Config c) throws IOException {
        ScoreFile teacher = ScoreFile.read(c.teacherScores()), reference = ScoreFile.read(c.referenceScores());
        Selection s = DifferenceSampling.select(teacher, c.teacherScores(), reference, c.referenceScores(), c.ratio(),
                c.missing());
        Path data = c.data();
        if (data == null) {
            String recorded = teacher.manifest().data();
            if (recorded == null)
                throw new IllegalArgumentException(c.teacherScores() + " records no data set path; give --data");
            data = Path.of(recorded);
        }
        Tokenizer corpusTok = c.tokenizer() == null ? null : Tokenizers.load(c.tokenizer());
        Tokenizer student = c.studentTokenizer() == null ? null : Tokenizers.load(c.studentTokenizer());
        try (DatasetInstances source = DatasetInstances.open(data, corpusTok)) {
            if (!source.corpusChecksum().equals(teacher.manifest().corpusChecksum()))
                throw new ScoreFileException(data + " is not the corpus " + c.teacherScores() + " scored (its instance "
                        + "checksum is " + source.corpusChecksum() + ", the scores say " + teacher.manifest().corpusChecksum() + ")");
            Map<String, Object> provenance = new LinkedHashMap<>();
            provenance.put("teacherScores", c.teacherScores().toAbsolutePath().normalize().toString());
            provenance.put("teacherModel", teacher.manifest().modelId());
            provenance.put("referenceScores", c.referenceScores().toAbsolutePath().normalize().toString());
            provenance.put("referenceModel", reference.manifest().modelId());
            provenance.put("missingPolicy", c.missing().name().toLowerCase(Locale.ROOT));
            if (student != null) provenance.put("studentTokenizer", Prepare.fingerprint(student));
            TokenDataset.Manifest written = SelectedDataset.write(source, s, c.out(),
                    student == null ? null : new Retokenizer(corpusTok, student), student, provenance, c.packRows());
            Path report = null;
            if (c.reportDir() != null) {
                List<String> labels = c.labels() == null ? source.instanceSources() : c.labels().of(source);
                report = SelectionReport.write(c.reportDir(), s, c.teacherName(), c.referenceName(),
                        labels::get, corpusTok == null ? null : id -> corpusTok.decode(source.get(id), true));
            }
            return new Result(s, written, report);
        }
    }
}
