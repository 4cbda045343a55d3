/*
 * Compiled OpenCL programs for one device, built once and kept: the key is the source's SHA-256, the build options,
 * the device name and the driver version (the same source on another driver is another binary). A failed build
 * throws ClException with the .cl file, the device, the options and the compiler's log.
 */
package kd4j.tensor.opencl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

public final class ClProgramCache implements AutoCloseable {
    private final MemorySegment context;
    private final ClDevice device;
    private final Map<String, MemorySegment> programs = new HashMap<>();

    ClProgramCache(MemorySegment context, ClDevice device) {
        this.context = context;
        this.device = device;
    }

    /** The built program for this source and options; file names the source in errors ("gemm.cl"). */
    public synchronized MemorySegment program(String file, String source, String options) {
        String key = KernelSource.sha256(source) + '|' + options + '|' + device.name() + '|' + device.driverVersion();
        MemorySegment p = programs.get(key);
        if (p == null) {
            p = build(file, source, options);
            programs.put(key, p);
        }
        return p;
    }

    public synchronized int size() { return programs.size(); }

    private MemorySegment build(String file, String source, String options) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment err = arena.allocate(JAVA_INT);
            MemorySegment text = arena.allocateFrom(source);
            MemorySegment strings = arena.allocate(ADDRESS);
            strings.set(ADDRESS, 0, text);
            MemorySegment lengths = arena.allocate(JAVA_LONG);
            lengths.set(JAVA_LONG, 0, text.byteSize() - 1);
            MemorySegment program = Cl.createProgramWithSource(context, strings, lengths, err);
            ClError.check(err.get(JAVA_INT, 0), "clCreateProgramWithSource(" + file + ")");
            MemorySegment devices = arena.allocate(ADDRESS);
            devices.set(ADDRESS, 0, device.id());
            int status = Cl.buildProgram(program, devices, arena.allocateFrom(options));
            if (status != Cl.CL_SUCCESS) {
                String log = buildLog(arena, program);
                Cl.releaseProgram(program);
                throw new ClException("opencl " + file + ": build failed on " + device.name() + " (driver "
                        + device.driverVersion() + "), options \"" + options + "\": " + ClError.name(status) + "\n"
                        + log.strip().lines().map(l -> "  " + file + ": " + l).reduce((a, b) -> a + "\n" + b).orElse("  (empty build log)"));
            }
            return program;
        }
    }

    private String buildLog(Arena arena, MemorySegment program) {
        MemorySegment size = arena.allocate(JAVA_LONG);
        if (Cl.getProgramBuildInfo(program, device.id(), Cl.CL_PROGRAM_BUILD_LOG, 0, MemorySegment.NULL, size) != 0)
            return "(build log unavailable)";
        MemorySegment buf = arena.allocate(size.get(JAVA_LONG, 0) + 1);
        if (Cl.getProgramBuildInfo(program, device.id(), Cl.CL_PROGRAM_BUILD_LOG, buf.byteSize(), buf, MemorySegment.NULL) != 0)
            return "(build log unavailable)";
        return buf.getString(0);
    }

    @Override
    public synchronized void close() {
        for (MemorySegment p : programs.values()) Cl.releaseProgram(p);
        programs.clear();
    }
}
