/*
 * Device memory of the OpenCL backend: one cl_mem buffer. It is released when the storage becomes unreachable
 * (a Cleaner), so per-step activations do not leak device memory; the bytes never leave the device unless copied out.
 */
package kd4j.tensor.opencl;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import kd4j.tensor.Backend;
import kd4j.tensor.Storage;

public final class ClStorage implements Storage {
    private static final Cleaner CLEANER = Cleaner.create();

    private final OpenClBackend backend;
    final MemorySegment mem;
    private final long byteSize;

    ClStorage(OpenClBackend backend, MemorySegment mem, long byteSize) {
        this.backend = backend;
        this.mem = mem;
        this.byteSize = byteSize;
        CLEANER.register(this, () -> Cl.releaseMemObject(mem));   // captures the handle only, never this
    }

    @Override
    public Backend backend() { return backend; }

    @Override
    public long byteSize() { return byteSize; }
}
