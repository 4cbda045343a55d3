/*
 * `kd4j bench train`: training steps of a randomly initialised model (any family, from an HF-style config.json):
 * forward, mean cross-entropy on next-token targets, backward, AdamW, in fp32, as the Trainer runs them (a
 * StepArena reuses the activation buffers from step to step; --activation-checkpointing recomputes each layer's
 * forward in backward, as run.activationCheckpointing does). Warm-up steps first, then --steps timed steps
 * (each ends with a backend sync, so GPU time is counted); last line "tokens/s: <median>".
 * Under mpirun it measures data-parallel scaling: --batch is the global batch, each rank runs its share of the
 * rows and the gradients are summed as the Trainer sums them (DataParallel); tokens/s is the job's, and every
 * rank reports the share of its step spent in the gradient sum.
 */
package kd4j.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import kd4j.autograd.ActivationCheckpoint;
import kd4j.autograd.MatmulPrecision;
import kd4j.autograd.PackedParameters;
import kd4j.autograd.Parameter;
import kd4j.autograd.StepArena;
import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.autograd.ops.LossOps;
import kd4j.autograd.optim.AdamW;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.models.NextTokenBatch;
import kd4j.mpi.Communicator;
import kd4j.mpi.Communicators;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;
import kd4j.train.DataParallel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Training tokens/s (forward + backward + AdamW; fp32, or --precision bf16 GEMM inputs) of a random model from a config.json.")
public final class BenchTrainCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    BenchModels.Options options;

    @CommandLine.Option(names = "--activation-checkpointing",
            description = "recompute each decoder/Mamba layer's forward in backward (run.activationCheckpointing)")
    boolean activationCheckpointing;

    @Mixin
    PrecisionOption precision;      // run.precision of a config

    @Override
    public Integer call() {
        options.validate(spec.commandLine());
        Communicator comm = Communicators.world();
        if (options.batch % comm.size() != 0)
            throw new CommandLine.ParameterException(spec.commandLine(), "--batch " + options.batch + " (the global batch) does not divide into "
                    + comm.size() + " ranks; use a multiple of " + comm.size());
        DataParallel parallel = comm.isDistributed() ? new DataParallel(comm) : null;
        // rank 0 prints the report; the other ranks print their communication share only
        PrintWriter out = comm.isRoot() ? spec.commandLine().getOut() : new PrintWriter(java.io.Writer.nullWriter());
        precision.value(spec.commandLine());
        try (Backend be = BenchModels.open(options);
             var precisionScope = MatmulPrecision.use(precision.checkedFor(be, spec.commandLine()))) {
            CausalLM model = BenchModels.model(options, be, false);
            BenchModels.header(out, "train", options, be, model);
            if (parallel != null) out.printf("data-parallel: %d ranks of %d rows (%s)%n", comm.size(), options.batch / comm.size(), comm.describe());
            Tensor ids = BenchModels.randomIds(options, be, model.config().vocabSize(), options.batch / comm.size(), comm.rank());
            Tensor targets = NextTokenBatch.targetsOf(ids, null);
            PackedParameters.pack(model.parameters().all());      // as the Trainer does: one AdamW launch a step
            AdamW optimizer = new AdamW(model.parameters().all(), 1e-4, 0.1);
            StepArena arena = new StepArena();
            long tokens = (long) options.batch * options.seq;
            for (int i = 0; i < options.warmup; i++) {
                double loss = step(model, ids, targets, optimizer, arena, activationCheckpointing, parallel);
                out.printf("warm-up %d: loss %.4f%n", i + 1, loss);
                out.flush();
            }
            double[] seconds = new double[options.steps], comms = new double[options.steps];
            long[] heap = new long[options.steps];
            double loss = Double.NaN;
            for (int i = 0; i < options.steps; i++) {
                long h0 = BenchModels.heapAllocated(), t0 = System.nanoTime();
                loss = step(model, ids, targets, optimizer, arena, activationCheckpointing, parallel);
                seconds[i] = (System.nanoTime() - t0) / 1e9;
                comms[i] = parallel == null ? 0 : parallel.takeCommSeconds() / seconds[i];
                heap[i] = BenchModels.heapAllocated() - h0;
            }
            double median = BenchModels.median(out, seconds, tokens);
            BenchModels.heap(out, heap);
            out.printf("last loss %.4f (same batch every step, so it falls)%n", loss);
            long paramBytes = 0;
            for (Parameter p : model.parameters().all()) paramBytes += p.data().numel() * p.data().dtype().byteSize();
            // weights + gradients + two AdamW moments, plus the arena's activations and scratch
            out.printf("activation checkpointing %s: step arena (activations, gradients of activations, scratch) "
                    + "%.1f MiB%n", activationCheckpointing ? "on" : "off", arena.bytesAllocated() / 1048576.0);
            BenchModels.memory(out, 4 * paramBytes + arena.bytesAllocated());
            out.printf("precision %s (linear layers' GEMM inputs)%n", MatmulPrecision.current().label());
            out.printf("median step: %.1f ms%n", median * 1e3);
            if (parallel != null) {
                double[] c = comms.clone();
                java.util.Arrays.sort(c);
                PrintWriter rankOut = spec.commandLine().getOut();
                rankOut.printf("rank %d/%d: median share of the step in the gradient sum: %.1f%%%n", comm.rank(), comm.size(), 100 * c[c.length / 2]);
                rankOut.flush();
            }
            out.printf("tokens/s: %.1f%n", tokens / median);
        }
        out.flush();
        return ExitCodes.OK;
    }

    /** One optimizer step; returns the loss. Ends with a sync so the time includes all device work. */
    static double step(CausalLM model, Tensor ids, Tensor targets, AdamW optimizer, StepArena arena,
                       boolean activationCheckpointing, DataParallel parallel) {
        model.parameters().zeroGrad();
        double loss;
        try (var scope = arena.activate(); var c = ActivationCheckpoint.enable(activationCheckpointing)) {
            Var l = LossOps.crossEntropy(model.forward(ids, null), targets, NextTokenBatch.IGNORE);
            if (parallel == null) Tape.backward(l);
            else {
                // equal rows on every rank: each seeds 1/N, so the summed gradient is the global batch's mean
                Tensor seed = model.backend().empty(l.data().dtype(), l.shape());
                model.backend().fill(seed, 1.0 / parallel.communicator().size());
                Tape.backward(l, seed);
            }
            loss = l.data().item(new long[l.data().rank()]);
        }
        arena.reset();
        if (parallel != null)
            loss = parallel.sumGradients(model.parameters().all(), loss / parallel.communicator().size(), false, 0).loss();
        optimizer.step();
        model.backend().sync();
        return loss;
    }
}
