/*
 * Per-step scratch memory: a pool of storages keyed by (backend, dtype, element count). Ops draw activations and
 * scratch from the active arena; the trainer calls reset() after each micro-batch's backward (the parameter
 * gradients it accumulated live outside the arena), which hands every buffer back for the next micro-batch, so after
 * the first step of a fixed shape a training step allocates nothing (llm.c's one malloc).
 * Not a global cache: an arena belongs to its trainer and is made active for each micro-batch by scope:
 *
 *   for (each micro-batch) {
 *       try (var scope = arena.activate()) { loss = forward(); double l = loss.data().item(); Tape.backward(loss); }
 *       arena.reset();
 *   }
 *   optimizer.step();
 *
 * Tensors taken from an arena must not be used after reset() (read the loss before). With no arena active,
 * ops allocate from their backend as usual (teacher scoring, tests, generation).
 */
package kd4j.autograd;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Storage;
import kd4j.tensor.Tensor;

public final class StepArena {
    private record Key(Backend backend, DType dtype, long numel) {}

    private record Taken(Key key, Storage storage) {}

    private static final ThreadLocal<StepArena> ACTIVE = new ThreadLocal<>();

    private final Map<Key, ArrayDeque<Storage>> free = new HashMap<>();
    private final List<Taken> inUse = new ArrayList<>();
    private long bytesAllocated;

    /** Makes this arena the one ops on this thread draw from until the returned scope is closed. */
    public Scope activate() {
        Scope scope = new Scope(ACTIVE.get());
        ACTIVE.set(this);
        return scope;
    }

    /** Restores the previously active arena (or none) on close. */
    public static final class Scope implements AutoCloseable {
        private final StepArena previous;

        private Scope(StepArena previous) { this.previous = previous; }

        @Override
        public void close() {
            if (previous == null) ACTIVE.remove();
            else ACTIVE.set(previous);
        }
    }

    /** The arena active on this thread, or null. */
    public static StepArena active() { return ACTIVE.get(); }

    /** A contiguous tensor whose contents are undefined (a reused buffer), valid until reset(). */
    public Tensor take(Backend backend, DType dtype, int... shape) {
        Key key = new Key(backend, dtype, Tensor.numel(shape));
        ArrayDeque<Storage> pool = free.get(key);
        Storage storage = pool == null ? null : pool.poll();
        if (storage == null) {
            storage = backend.allocate(dtype, key.numel);
            bytesAllocated += key.numel * dtype.byteSize();
        }
        inUse.add(new Taken(key, storage));
        return Tensor.of(storage, dtype, shape);
    }

    /** Hands every buffer taken since the last reset back to the pool. */
    public void reset() {
        for (Taken t : inUse) free.computeIfAbsent(t.key, k -> new ArrayDeque<>()).push(t.storage);
        inUse.clear();
    }

    /** The current position in the list of buffers taken: releaseSince(mark, ...) hands back what came after it. */
    public int mark() { return inUse.size(); }

    /**
     * Hands back every buffer taken since mark except keep's storage (null: keep none). For a scope whose
     * intermediates nobody reads afterwards (an activation-checkpointed segment), so the next one reuses them.
     */
    public void releaseSince(int mark, Tensor keep) {
        int kept = mark;
        for (int i = mark; i < inUse.size(); i++) {
            Taken t = inUse.get(i);
            if (keep != null && t.storage == keep.storage()) inUse.set(kept++, t);
            else free.computeIfAbsent(t.key, k -> new ArrayDeque<>()).push(t.storage);
        }
        inUse.subList(kept, inUse.size()).clear();
    }

    /** Bytes this arena has allocated from backends so far (constant once the step shape is steady). */
    public long bytesAllocated() { return bytesAllocated; }

    /** Number of buffers handed out since the last reset. */
    public int buffersInUse() { return inUse.size(); }

    /** Scratch from the active arena, or a fresh backend allocation when none is active. Contents undefined. */
    public static Tensor scratch(Backend backend, DType dtype, int... shape) {
        StepArena arena = ACTIVE.get();
        return arena == null ? backend.empty(dtype, shape) : arena.take(backend, dtype, shape);
    }

    /** Like scratch, but zero-filled. */
    public static Tensor scratchZeros(Backend backend, DType dtype, int... shape) {
        StepArena arena = ACTIVE.get();
        if (arena == null) return backend.zeros(dtype, shape);
        Tensor t = arena.take(backend, dtype, shape);
        backend.fill(t, 0.0);
        return t;
    }
}
