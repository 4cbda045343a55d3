/*
 * `kd4j generate`: the SeqKD baseline's teacher-written corpus. The teacher continues each prompt of a file (one per
 * line) or samples unconditionally from BOS until --tokens new tokens exist; the folder gets generated.jsonl and
 * generation.json (sampling settings). `kd4j prepare --input DIR/generated.jsonl` turns it into pretrain data.
 */
package kd4j.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import kd4j.distill.kd.GenerateJob;
import kd4j.distill.kd.SeqKd;
import kd4j.models.Generation;
import kd4j.tensor.Backend;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Let a teacher write a corpus (SeqKD): continuations of prompts or unconditional samples, "
                + "with the sampling settings recorded; prepare it with kd4j prepare --input DIR/generated.jsonl.")
public final class GenerateCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "TEACHER", description = "teacher: HuggingFace model directory")
    Path model;

    static final class Source {
        @Option(names = "--prompts", paramLabel = "FILE", description = "one prompt per line") Path prompts;
        @Option(names = "--unconditional", description = "sample from BOS (EOS when the tokenizer has no BOS)") boolean unconditional;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--tokens", required = true, paramLabel = "N", description = "new tokens to generate in all")
    long tokens;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder")
    Path out;

    @Option(names = "--sequence-tokens", paramLabel = "N", defaultValue = "256", description = "new tokens per sequence at most (default: ${DEFAULT-VALUE})")
    int sequenceTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "1.0", description = "0 = greedy (default: ${DEFAULT-VALUE})")
    float temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "0", description = "0 = off (default: ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1.0", description = "1 = off (default: ${DEFAULT-VALUE})")
    float topP;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "8", description = "sequences per batch (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "sampling seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "tokenizer folder (default: the model folder)")
    Path tokenizer;

    @Mixin DeviceOptions device = new DeviceOptions();

    @Override
    public Integer call() throws Exception {
        GenerateJob.Config config;
        try {
            config = new GenerateJob.Config(model, tokenizer, source.prompts, new SeqKd.Settings(
                    new Generation.Sampling(temperature, topK, topP), sequenceTokens, tokens, batch, seed), out);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        try (Backend be = device.open()) {
            GenerateJob.Result done = GenerateJob.run(config, be, spec.commandLine().getErr());
            SeqKd.Result r = done.generated();
            spec.commandLine().getOut().printf(Locale.ROOT, "generated %,d tokens in %,d sequences -> %s%n"
                    + "model load %.1f s; generation %.1f s, %.1f tokens/s (KV-cache decoding, batch %d)%n"
                    + "prepare it as pretrain data with: kd4j prepare --input %s --tokenizer %s --out DATA%n",
                    r.tokens(), r.sequences(), r.corpus(), done.loadSeconds(), r.seconds(), r.tokensPerSecond(), batch,
                    r.corpus(), config.tokenizer());
            return ExitCodes.OK;
        }
    }
}
