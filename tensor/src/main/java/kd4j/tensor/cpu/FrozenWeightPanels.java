/*
 * The CPU GEMM's packed panels of frozen weights, kept across calls. A scorer, a generator or an online-KD
 * teacher multiplies by the same weights on every batch, and packing B (widening bf16, transposing a Linear
 * weight into micro-panels) cost 6 to 9 % of a 0.5B teacher's scoring pass, most of it the lm_head packed again
 * for every block of logits. Only weights that cannot change are kept: a B whose storage is a read-only segment
 * (safetensors mapped by an inference load). Panels are looked up by the storage object (weakly held, so they go
 * with the model) and the view's offset, dtype, strides and shape, and are the same bits packB makes, so a GEMM
 * gives the same result with or without them. Memory: 4 bytes per element of B, on the Java heap, up to a budget
 * (kd4j.gemmWeightCacheBytes, default half the maximum heap); past it weights are packed per call as before.
 */
package kd4j.tensor.cpu;

import java.util.HashMap;
import java.util.Map;
import java.util.WeakHashMap;
import kd4j.tensor.DType;
import kd4j.tensor.Storage;

final class FrozenWeightPanels {
    /** The budget for all kept panels of one backend, in heap bytes. */
    static final long BUDGET = Long.getLong("kd4j.gemmWeightCacheBytes", Runtime.getRuntime().maxMemory() / 2);

    private record View(long byteOffset, DType dtype, long rowStride, long colStride, int k, int n) {}

    private final Map<Storage, Map<View, GemmKernels.PackedB>> panels = new WeakHashMap<>();
    private final long budget;

    FrozenWeightPanels(long budget) { this.budget = budget; }

    /** The panels of op(b) [k, n] in storage at byteOffset, packed on first use; null when over budget. */
    synchronized GemmKernels.PackedB get(Parallel par, Storage storage, long byteOffset, GemmKernels.Operand b, int k, int n) {
        View view = new View(byteOffset, b.dtype(), b.rowStride(), b.colStride(), k, n);
        Map<View, GemmKernels.PackedB> ofStorage = panels.computeIfAbsent(storage, s -> new HashMap<>());
        GemmKernels.PackedB p = ofStorage.get(view);
        if (p != null) return p;
        long need = GemmKernels.packedBytes(k, n);
        if (bytes() + need > budget) return null;
        p = GemmKernels.pack(par, k, n, b);
        ofStorage.put(view, p);
        return p;
    }

    /** Heap bytes of the panels kept now (those of collected storages no longer count). */
    synchronized long bytes() {
        long total = 0;
        for (Map<View, GemmKernels.PackedB> m : panels.values()) for (GemmKernels.PackedB p : m.values()) total += p.bytes();
        return total;
    }
}
