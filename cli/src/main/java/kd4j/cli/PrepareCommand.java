/*
 * `kd4j prepare`: turn a corpus (text files, folders, JSONL, .gz) into a prepared token data set: document
 * shards tokenized on all cores, MiniPLM-packed train/validation instances (kd4j shards or Megatron .bin/.idx),
 * and a manifest with counts and checksums. Resumable: after a kill, run the same command again.
 */
package kd4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import kd4j.data.Prepare;
import kd4j.tokenizers.Tokenizer;
import kd4j.tokenizers.Tokenizers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "prepare", mixinStandardHelpOptions = true,
        description = {"Tokenize a corpus into packed token shards and MiniPLM-style fixed-length instances.",
                "Instances hold seq+1 tokens: documents (EOS appended) are packed and each chunk is cut back to its last "
                + "sentence end, the rest carried into the next chunk (BOS first for tokenizers that use one).",
                "Resumable: after a kill, run the same command again; finished shards are kept."})
public final class PrepareCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--input", required = true, arity = "1..*", paramLabel = "PATH",
            description = "text files, JSONL files (.jsonl/.ndjson), folders of them, or their .gz forms")
    List<Path> inputs;

    @Option(names = "--tokenizer", required = true, paramLabel = "DIR", description = "HuggingFace tokenizer directory (tokenizer.json)")
    Path tokenizer;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory")
    Path out;

    @Option(names = "--field", defaultValue = "text", paramLabel = "NAME", description = "JSONL field holding the text (default: ${DEFAULT-VALUE})")
    String field;

    @Option(names = "--seq", defaultValue = "256", paramLabel = "N", description = "sequence length; instances hold N+1 tokens (default: ${DEFAULT-VALUE})")
    int seq;

    @Option(names = "--val-fraction", defaultValue = "0.01", paramLabel = "F",
            description = "share of documents held out for validation, in [0, 1) (default: ${DEFAULT-VALUE})")
    double validationFraction;

    @Option(names = "--split-seed", defaultValue = "1234", paramLabel = "SEED", description = "seed of the document split (default: ${DEFAULT-VALUE})")
    long splitSeed;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N", description = "tokenizer threads, 0 = all cores (default: ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--format", defaultValue = "kd4j", paramLabel = "FORMAT",
            description = "instance files: kd4j (packed shards) or megatron (train_0/valid_0 .bin/.idx as MiniPLM reads) (default: ${DEFAULT-VALUE})")
    Prepare.Format format;

    @Option(names = "--docs-per-shard", defaultValue = "4096", paramLabel = "N", description = "documents per token shard (default: ${DEFAULT-VALUE})")
    int documentsPerShard;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        if (seq < 1) throw new ParameterException(spec.commandLine(), "--seq must be at least 1, got " + seq);
        if (!(validationFraction >= 0 && validationFraction < 1))
            throw new ParameterException(spec.commandLine(), "--val-fraction must be in [0, 1), got " + validationFraction);
        if (threads < 0) throw new ParameterException(spec.commandLine(), "--threads must be >= 0, got " + threads);
        if (documentsPerShard < 1) throw new ParameterException(spec.commandLine(), "--docs-per-shard must be >= 1, got " + documentsPerShard);

        Tokenizer tok = Tokenizers.load(tokenizer);
        var options = new Prepare.Options(inputs, this.out, field, seq, validationFraction, splitSeed, threads, format,
                documentsPerShard, 64L << 20);
        long t0 = System.nanoTime();
        var result = Prepare.run(options, tok, line -> {
            if (line.contains("invalid UTF-8")) err.println("kd4j: warning: " + line);
            else out.println(line);
            out.flush();
        });
        double seconds = (System.nanoTime() - t0) / 1e9;
        var m = result.manifest();
        out.printf(Locale.ROOT, "documents: %,d (train %,d, valid %,d), %,d tokens with EOS%n",
                m.total().documents(), m.train().documents(), m.valid().documents(), m.total().documentTokens());
        out.printf(Locale.ROOT, "instances of %d tokens: train %,d (%,d tokens), valid %,d (%,d tokens); %,d tokens left unpacked%n",
                m.instanceLength(), m.train().instances(), m.train().instanceTokens(), m.valid().instances(),
                m.valid().instanceTokens(), m.unpackedTokens());
        if (m.valid().documents() > 0 && m.valid().instances() == 0)
            err.println("kd4j: warning: the validation documents hold fewer than " + m.instanceLength()
                    + " tokens, so no validation instance was made; raise --val-fraction or lower --seq");
        out.printf(Locale.ROOT, "%d shard(s) tokenized, %d kept from an earlier run; %.1f s (%,.0f tokens/s)%n",
                result.shardsTokenized(), result.shardsKept(), seconds, m.total().documentTokens() / Math.max(seconds, 1e-9));
        out.println("wrote " + this.out.resolve("manifest.json"));
        out.flush();
        return ExitCodes.OK;
    }
}
