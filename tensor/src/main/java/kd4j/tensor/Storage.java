/*
 * The memory under a tensor, owned by one backend. Host backends hold a MemorySegment; a device backend holds
 * a device buffer handle. Only the owning backend interprets it.
 */
package kd4j.tensor;

public interface Storage {
    /** The backend that allocated this storage and runs ops on it. */
    Backend backend();

    /** Capacity in bytes. */
    long byteSize();
}
