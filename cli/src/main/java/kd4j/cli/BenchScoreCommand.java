/*
 * `kd4j bench score`: forward-only scoring of a randomly initialised model (any family, from an HF-style
 * config.json) or of an HF model directory (--model, bf16/fp16 weights kept as stored, as `kd4j score` loads a
 * teacher), as teacher scoring runs it: no tape (GradMode off), the logits one block of positions at a time
 * (ChunkedLogits, the scorer's blocks) and the per-token cross-entropy of the next token, the per-token losses
 * read back. Warm-up passes first, then --steps timed passes; last line "tokens/s: <median>" (every position of
 * the batch counted, the last of each row included).
 */
package kd4j.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import kd4j.autograd.GradMode;
import kd4j.autograd.MatmulPrecision;
import kd4j.autograd.Parameter;
import kd4j.autograd.StepArena;
import kd4j.models.CausalLM;
import kd4j.models.ChunkedLogits;
import kd4j.models.Models;
import kd4j.models.NextTokenBatch;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "score", mixinStandardHelpOptions = true,
        description = "Forward-only scoring tokens/s (logits + per-token loss, no tape; fp32, or --precision bf16 GEMM inputs) of a random model from a "
                + "config.json or of an HF model directory (--model).")
public final class BenchScoreCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    BenchModels.Options options;

    @Mixin
    PrecisionOption precision;      // as kd4j score --precision

    @CommandLine.Option(names = "--weight-dtype", paramLabel = "fp32|bf16", defaultValue = "fp32",
            description = "with --config: the random matrices and embeddings in fp32, or in bf16 (frozen, as a bf16 checkpoint "
                    + "loads for scoring: a teacher of any size without a file). --model keeps the checkpoint's dtypes. "
                    + "(default: ${DEFAULT-VALUE})")
    String weightDtype;

    @Override
    public Integer call() {
        options.validate(spec.commandLine());
        PrintWriter out = spec.commandLine().getOut();
        precision.value(spec.commandLine());
        boolean bf16Weights = switch (weightDtype.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "fp32" -> false;
            case "bf16" -> true;
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--weight-dtype: expected fp32 or bf16, got '"
                    + weightDtype + "'");
        };
        if (bf16Weights && options.model != null)
            throw new CommandLine.ParameterException(spec.commandLine(), "--weight-dtype applies to --config's random weights; "
                    + "--model " + options.model + " keeps the dtypes of its safetensors");
        try (Backend be = BenchModels.open(options); GradMode g = GradMode.off();
             var precisionScope = MatmulPrecision.use(precision.checkedFor(be, spec.commandLine()))) {
            CausalLM model = BenchModels.model(options, be, true, bf16Weights);
            BenchModels.header(out, "score", options, be, model);
            if (bf16Weights) out.println("weights: random matrices and embeddings in bf16 (frozen), the rest fp32");
            Tensor ids = BenchModels.randomIds(options, be, model.config().vocabSize());
            Tensor targets = NextTokenBatch.targetsOf(ids, null);
            StepArena arena = new StepArena();
            ChunkedLogits logits = new ChunkedLogits(model, ChunkedLogits.DEFAULT_CHUNK_BYTES);
            long tokens = (long) options.batch * options.seq;
            for (int i = 0; i < options.warmup; i++) {
                out.printf("warm-up %d: mean loss %.4f%n", i + 1, score(logits, be, ids, targets, arena) / (tokens - options.batch));
                out.flush();
            }
            double[] seconds = new double[options.steps];
            long[] heap = new long[options.steps];
            long cpu0 = BenchModels.processCpuNanos();
            for (int i = 0; i < options.steps; i++) {
                long h0 = BenchModels.heapAllocated(), t0 = System.nanoTime();
                score(logits, be, ids, targets, arena);
                seconds[i] = (System.nanoTime() - t0) / 1e9;
                heap[i] = BenchModels.heapAllocated() - h0;
            }
            long cpu = BenchModels.processCpuNanos() - cpu0;
            double median = BenchModels.median(out, seconds, tokens);
            BenchModels.cpuRate(out, tokens * options.steps, cpu);
            BenchModels.heap(out, heap);
            long paramBytes = 0;
            for (Parameter p : model.parameters().all()) paramBytes += p.data().numel() * p.data().dtype().byteSize();
            BenchModels.memory(out, paramBytes + arena.bytesAllocated());
            out.printf("precision %s (linear layers' GEMM inputs)%n", MatmulPrecision.current().label());
            out.printf("median pass: %.1f ms%n", median * 1e3);
            out.printf("tokens/s: %.1f%n", tokens / median);
        }
        out.flush();
        return ExitCodes.OK;
    }

    /** One scoring pass; returns the summed per-token loss (read back to the host, as a scorer does). */
    static double score(ChunkedLogits logits, Backend be, Tensor ids, Tensor targets, StepArena arena) {
        double sum = 0;
        try (var scope = arena.activate()) {
            int n = ids.dim(0) * ids.dim(1);
            Tensor flatTargets = targets.reshape(n), losses = be.empty(DType.F32, n), lse = be.empty(DType.F32, n);
            logits.forEach(ids, null, (r0, block) -> {
                int rows = block.dim(0);
                be.crossEntropyForward(block, flatTargets.narrow(0, r0, rows), NextTokenBatch.IGNORE, losses.narrow(0, r0, rows),
                        lse.narrow(0, r0, rows));
            });
            for (float x : losses.toFloatArray()) sum += x;
        }
        arena.reset();
        return sum;
    }
}
