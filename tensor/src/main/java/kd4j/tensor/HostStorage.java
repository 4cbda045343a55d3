/*
 * Storage in host memory: a MemorySegment (64-byte aligned when the backend allocated it; a heap array or a
 * memory-mapped file region when wrapped). Shared by the CPU and reference backends so that mmapped
 * safetensors weights, Vector API loads and OpenCL host copies all speak one type.
 */
package kd4j.tensor;

import java.lang.foreign.MemorySegment;

public record HostStorage(Backend backend, MemorySegment segment) implements Storage {
    @Override
    public long byteSize() { return segment.byteSize(); }
}
