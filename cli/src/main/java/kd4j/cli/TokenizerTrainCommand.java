/*
 * `kd4j tokenizer-train`: byte-level BPE training like HF's BpeTrainer (Qwen2 pre-tokenizer, min frequency,
 * special tokens) on JSONL documents or plain-text lines; writes tokenizer.json + tokenizer_config.json.
 */
package kd4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import kd4j.tokenizers.BpeTrainer;
import kd4j.tokenizers.TextFiles;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "tokenizer-train", mixinStandardHelpOptions = true,
        description = "Train a byte-level BPE tokenizer (HF BpeTrainer semantics) and save it as tokenizer.json.")
public final class TokenizerTrainCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--input", required = true, arity = "1..*", paramLabel = "FILE",
            description = "Training files: .jsonl (one document per line, see --field) or plain text (one per line).")
    List<Path> inputs;

    @Option(names = "--field", defaultValue = "text", paramLabel = "NAME", description = "JSONL field with the text (default: ${DEFAULT-VALUE}).")
    String field;

    @Option(names = "--vocab-size", required = true, paramLabel = "N", description = "Vocabulary size, special tokens and 256 bytes included.")
    int vocabSize;

    @Option(names = "--min-frequency", defaultValue = "2", paramLabel = "N", description = "Minimum pair count to merge (default: ${DEFAULT-VALUE}).")
    long minFrequency;

    @Option(names = "--special-tokens", split = ",", defaultValue = "<|endoftext|>", paramLabel = "TOKEN",
            description = "Special tokens, ids 0.. in order; the first is the EOS token (default: ${DEFAULT-VALUE}).")
    List<String> specialTokens;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory.")
    Path out;

    @Override
    public Integer call() throws IOException {
        PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        if (vocabSize < 256 + specialTokens.size())
            throw new CommandLine.ParameterException(spec.commandLine(), "--vocab-size must be at least "
                    + (256 + specialTokens.size()) + " (256 bytes + special tokens), got " + vocabSize);
        long t0 = System.nanoTime();
        BpeTrainer trainer = new BpeTrainer(vocabSize, minFrequency, specialTokens);
        long docs = 0;
        for (Path file : inputs) {
            List<String> fileDocs = TextFiles.readDocuments(file, field, w -> err.println("kd4j: warning: " + w));
            if (fileDocs.isEmpty()) err.println("kd4j: warning: " + file + ": no text (empty, or only blank lines)");
            for (String doc : fileDocs) {
                trainer.add(doc);
                docs++;
            }
        }
        // Without text the trainer would write a tokenizer of the 256 bytes only: refuse instead.
        if (docs == 0)
            throw new kd4j.tokenizers.TextFormatException(inputs.get(0), 0, "no text to train on"
                    + (inputs.size() > 1 ? " in any of the " + inputs.size() + " inputs" : "")
                    + " (expected non-blank lines" + (TextFiles.isJsonLines(inputs.get(0)) ? " with a \"" + field + "\" field" : "") + ")");
        long t1 = System.nanoTime();
        BpeTrainer.Result result = trainer.train();
        long t2 = System.nanoTime();
        result.save(out);
        o.printf("documents: %d, distinct pre-tokens: %d%n", docs, trainer.distinctWords());
        o.printf("vocabulary: %d tokens (%d merges)%s%n", result.vocab().size(), result.merges().size(),
                result.vocab().size() < vocabSize ? ", stopped early: no pair reaches --min-frequency" : "");
        o.printf("time: %.1f s counting, %.1f s merging%n", (t1 - t0) / 1e9, (t2 - t1) / 1e9);
        o.println("wrote " + out.resolve("tokenizer.json"));
        o.flush();
        return ExitCodes.OK;
    }
}
