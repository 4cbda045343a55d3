/*
 * One kernel object of a built program, with a small native scratch slot for its arguments: clSetKernelArg copies
 * the value before it returns, so one slot serves every argument and a launch allocates nothing native.
 * Not thread-safe: the backend launches under its own lock.
 */
package kd4j.tensor.opencl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

final class ClKernel implements AutoCloseable {
    final String file;
    final String name;
    final MemorySegment handle;
    private final MemorySegment slot;

    ClKernel(MemorySegment program, String file, String name, Arena arena) {
        this.file = file;
        this.name = name;
        this.slot = arena.allocate(64, 16);
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment err = tmp.allocate(JAVA_INT);
            this.handle = Cl.createKernel(program, tmp.allocateFrom(name), err);
            ClError.check(err.get(JAVA_INT, 0), "clCreateKernel(" + file + ": " + name + ")");
        }
    }

    void memArg(int index, MemorySegment mem) {
        slot.set(ADDRESS, 0, mem);
        ClError.check(Cl.setKernelArg(handle, index, ADDRESS.byteSize(), slot), "clSetKernelArg(" + name + ", " + index + ")");
    }

    void intArg(int index, int value) {
        slot.set(JAVA_INT, 0, value);
        ClError.check(Cl.setKernelArg(handle, index, 4, slot), "clSetKernelArg(" + name + ", " + index + ")");
    }

    void longArg(int index, long value) {
        slot.set(JAVA_LONG, 0, value);
        ClError.check(Cl.setKernelArg(handle, index, 8, slot), "clSetKernelArg(" + name + ", " + index + ")");
    }

    void floatArg(int index, float value) {
        slot.set(JAVA_FLOAT, 0, value);
        ClError.check(Cl.setKernelArg(handle, index, 4, slot), "clSetKernelArg(" + name + ", " + index + ")");
    }

    /** A long8 argument (shapes and strides of up to 8 dims). */
    void long8Arg(int index, long[] values) {
        for (int i = 0; i < 8; i++) slot.setAtIndex(JAVA_LONG, i, i < values.length ? values[i] : 0);
        ClError.check(Cl.setKernelArg(handle, index, 64, slot), "clSetKernelArg(" + name + ", " + index + ")");
    }

    @Override
    public void close() { Cl.releaseKernel(handle); }
}
