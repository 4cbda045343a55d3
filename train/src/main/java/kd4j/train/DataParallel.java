/*
 * Data parallelism for the Trainer over a kd4j.mpi.Communicator: every rank holds the whole model and reads the
 * whole global batch (a cheap host-side read), keeps its own contiguous slice of rows, and after backward the
 * gradients are summed over the ranks (MPI allreduce through one host staging buffer) before clipping and the
 * optimizer step. Each rank seeds its backward with its share of the global batch's counted targets, so the sum
 * is the gradient of the global batch's mean loss: N ranks with B/N rows follow one process with B rows, up to
 * float summation order. The data position, optimizer state and RNG are those of the global batch, identical on
 * every rank, so a checkpoint resumes on any rank count that divides the batch.
 *
 * Not here: sharded optimizer state (ZeRO), overlapping the sum with backward (the tape has no per-parameter
 * completion hook yet), and communicators other than the world.
 */
package kd4j.train;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kd4j.autograd.Parameter;
import kd4j.data.AtomicFiles;
import kd4j.mpi.Communicator;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;

public final class DataParallel {
    private final Communicator comm;
    private final Arena arena = Arena.ofAuto();     // the staging buffer lives as long as the trainer
    private MemorySegment staging;
    private long commNanos;

    public DataParallel(Communicator comm) { this.comm = comm; }

    public Communicator communicator() { return comm; }

    public boolean distributed() { return comm.isDistributed(); }

    public boolean root() { return comm.isRoot(); }

    /** Refuses a global batch the ranks cannot share evenly, with the numbers. */
    public void checkBatch(int globalBatch) {
        if (globalBatch % comm.size() != 0)
            throw new IllegalArgumentException("data.batchSize " + globalBatch + " (the global batch) does not divide "
                    + "into " + comm.size() + " ranks; use a multiple of " + comm.size() + ", e.g. "
                    + (globalBatch / comm.size() + 1) * comm.size());
    }

    /** This rank's rows of a global batch: a contiguous block of batchSize / size rows. */
    public MicroBatch slice(MicroBatch global) {
        if (!distributed()) return global;
        int rows = global.batchSize() / comm.size(), first = comm.rank() * rows, t = global.seqLength();
        int from = first * t, to = (first + rows) * t;
        return new MicroBatch(rows, t, Arrays.copyOfRange(global.inputs(), from, to), Arrays.copyOfRange(global.targets(), from, to),
                Arrays.copyOfRange(global.instances(), first, first + rows));
    }

    /**
     * This rank's weight in the global mean: its counted targets over the global batch's (1 on one rank). The
     * losses are means over counted targets, so sum over ranks of share * loss(slice) = loss(global batch).
     */
    public double share(MicroBatch mine, MicroBatch global) {
        if (!distributed()) return 1.0;
        int all = global.countedTokens();
        return all == 0 ? 1.0 / comm.size() : (double) mine.countedTokens() / all;
    }

    /** What the ranks agree on after one step: the global loss and whether any rank asked to stop. */
    public record Sum(double loss, boolean stop) {}

    /**
     * Sums the trainable parameters' gradients over the ranks, in place, together with this rank's share of the
     * loss and its stop request (so every rank stops after the same step). Gradients travel as F32 through host
     * memory; the staging buffer is allocated once.
     */
    public Sum sumGradients(List<Parameter> trainable, double weightedLoss, boolean stopRequested, long step) {
        long floats = 2;
        for (Parameter p : trainable) if (p.grad() != null) floats += p.grad().numel();
        if (staging == null || staging.byteSize() < floats * Float.BYTES)
            staging = arena.allocate(ValueLayout.JAVA_FLOAT, floats);
        long at = 0;
        for (Parameter p : trainable) {
            Tensor g = p.grad();
            if (g == null) continue;
            if (g.dtype() != DType.F32)
                throw new IllegalStateException("gradient of " + p.name() + " is " + g.dtype() + "; data parallelism sums F32 gradients");
            long bytes = g.numel() * Float.BYTES;
            g.backend().copyOut(g, staging.asSlice(at * Float.BYTES, bytes));
            at += g.numel();
        }
        staging.setAtIndex(ValueLayout.JAVA_FLOAT, at, (float) weightedLoss);
        staging.setAtIndex(ValueLayout.JAVA_FLOAT, at + 1, stopRequested ? 1f : 0f);
        long t0 = System.nanoTime();
        comm.allreduceSum(staging, at + 2, "the gradient sum of step " + step);
        commNanos += System.nanoTime() - t0;
        long back = 0;
        for (Parameter p : trainable) {
            Tensor g = p.grad();
            if (g == null) continue;
            g.backend().copyIn(g, staging.asSlice(back * Float.BYTES, g.numel() * Float.BYTES));
            back += g.numel();
        }
        return new Sum(staging.getAtIndex(ValueLayout.JAVA_FLOAT, at), staging.getAtIndex(ValueLayout.JAVA_FLOAT, at + 1) > 0);
    }

    /** Seconds spent waiting in collectives since the last call, and resets the count. */
    public double takeCommSeconds() {
        double s = commNanos / 1e9;
        commNanos = 0;
        return s;
    }

    /**
     * Stops every rank, naming what differs, unless all ranks hold the same fingerprints (config sections, data,
     * model weights, resume state...). Run once at start, after a resume's restore.
     */
    public void checkAgreement(Map<String, byte[]> fingerprints) {
        if (!distributed()) return;
        List<String> names = new ArrayList<>(fingerprints.keySet());
        byte[] mine = new byte[names.size() * 32];
        for (int i = 0; i < names.size(); i++) System.arraycopy(sha256(fingerprints.get(names.get(i))), 0, mine, i * 32, 32);
        byte[][] all = comm.allgather(mine, "the start-up agreement check");
        List<String> differences = new ArrayList<>();
        HexFormat hex = HexFormat.of();
        for (int i = 0; i < names.size(); i++) {
            Map<String, List<Integer>> ranksByHash = new LinkedHashMap<>();
            for (int r = 0; r < all.length; r++)
                ranksByHash.computeIfAbsent(hex.formatHex(all[r], i * 32, i * 32 + 6), k -> new ArrayList<>()).add(r);
            if (ranksByHash.size() > 1) {
                List<String> groups = new ArrayList<>();
                ranksByHash.forEach((h, ranks) -> groups.add("ranks " + ranks + " have " + h));
                differences.add(names.get(i) + " (" + String.join(", ", groups) + ")");
            }
        }
        if (!differences.isEmpty())
            throw new IllegalArgumentException("the " + comm.size() + " ranks disagree on " + String.join("; ", differences)
                    + ". Every rank must run the same command on the same files (data and run folder on a shared file system)");
    }

    /** The bytes of every parameter's data, in registry order (after the same init or restore, ranks match). */
    public static byte[] weightsFingerprint(List<Parameter> params) {
        MessageDigest md = AtomicFiles.newSha256();
        for (Parameter p : params) {
            Tensor t = p.data();
            md.update(p.name().getBytes(StandardCharsets.UTF_8));
            try (Arena a = Arena.ofConfined()) {
                MemorySegment host = a.allocate(t.numel() * t.dtype().byteSize());
                t.backend().copyOut(t, host);
                md.update(host.asByteBuffer());
            }
        }
        return md.digest();
    }

    static byte[] sha256(byte[] bytes) { return AtomicFiles.newSha256().digest(bytes); }
}
