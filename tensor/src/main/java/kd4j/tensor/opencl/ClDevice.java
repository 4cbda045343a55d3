/*
 * One OpenCL device as kd4j numbers them: index N of `opencl:N` counts devices over all platforms in loader order.
 * list() enumerates them (empty when the loader is present but no platform is installed). nvComputeCapability is
 * the CUDA compute capability as major * 10 + minor (86 for 8.6) where the device reports
 * cl_nv_device_attribute_query, else -1.
 */
package kd4j.tensor.opencl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

public record ClDevice(int index, MemorySegment platform, MemorySegment id, String platformName, String name,
                       String vendor, String driverVersion, String version, boolean gpu, int computeUnits,
                       int clockMHz, long globalMemBytes, long localMemBytes, long maxWorkGroupSize,
                       String extensions, int nvComputeCapability) {

    private static final long CL_DEVICE_TYPE_GPU = 4;

    /** "opencl:0 NVIDIA H100 80GB HBM3 (NVIDIA Corporation, OpenCL 3.0 CUDA, driver 550.54, 132 CUs, 79.1 GiB)". */
    public String describe() {
        return String.format("opencl:%d %s (%s, %s, driver %s, %d CUs, %.1f GiB)", index, name, platformName, version,
                driverVersion, computeUnits, globalMemBytes / (1024.0 * 1024 * 1024));
    }

    /** Every device of every platform; throws DeviceUnavailableException only when the loader itself is missing. */
    public static List<ClDevice> list() {
        Cl.requireLoader();
        List<ClDevice> out = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            int st = Cl.getPlatformIDs(0, MemorySegment.NULL, count);
            if (st == -1001 || count.get(JAVA_INT, 0) == 0) return out;   // CL_PLATFORM_NOT_FOUND_KHR: no ICD installed
            ClError.check(st, "clGetPlatformIDs");
            int np = count.get(JAVA_INT, 0);
            MemorySegment platforms = arena.allocate(ADDRESS, np);
            ClError.check(Cl.getPlatformIDs(np, platforms, MemorySegment.NULL), "clGetPlatformIDs");
            for (int p = 0; p < np; p++) {
                MemorySegment platform = platforms.getAtIndex(ADDRESS, p);
                String platformName = platformString(arena, platform, Cl.CL_PLATFORM_NAME);
                st = Cl.getDeviceIDs(platform, Cl.CL_DEVICE_TYPE_ALL, 0, MemorySegment.NULL, count);
                if (st == -1) continue;   // CL_DEVICE_NOT_FOUND: a platform without devices
                ClError.check(st, "clGetDeviceIDs");
                int nd = count.get(JAVA_INT, 0);
                MemorySegment devices = arena.allocate(ADDRESS, nd);
                ClError.check(Cl.getDeviceIDs(platform, Cl.CL_DEVICE_TYPE_ALL, nd, devices, MemorySegment.NULL), "clGetDeviceIDs");
                for (int d = 0; d < nd; d++) {
                    MemorySegment dev = devices.getAtIndex(ADDRESS, d);
                    out.add(new ClDevice(out.size(), platform, dev, platformName,
                            deviceString(arena, dev, Cl.CL_DEVICE_NAME), deviceString(arena, dev, Cl.CL_DEVICE_VENDOR),
                            deviceString(arena, dev, Cl.CL_DRIVER_VERSION), deviceString(arena, dev, Cl.CL_DEVICE_VERSION),
                            (deviceLong(arena, dev, Cl.CL_DEVICE_TYPE) & CL_DEVICE_TYPE_GPU) != 0,
                            (int) deviceInt(arena, dev, Cl.CL_DEVICE_MAX_COMPUTE_UNITS),
                            (int) deviceInt(arena, dev, Cl.CL_DEVICE_MAX_CLOCK_FREQUENCY),
                            deviceLong(arena, dev, Cl.CL_DEVICE_GLOBAL_MEM_SIZE),
                            deviceLong(arena, dev, Cl.CL_DEVICE_LOCAL_MEM_SIZE),
                            deviceLong(arena, dev, Cl.CL_DEVICE_MAX_WORK_GROUP_SIZE),
                            deviceString(arena, dev, Cl.CL_DEVICE_EXTENSIONS), nvComputeCapability(arena, dev)));
                }
            }
        }
        return out;
    }

    /** major * 10 + minor from cl_nv_device_attribute_query, or -1 when the device does not report it. */
    private static int nvComputeCapability(Arena arena, MemorySegment dev) {
        String ext = deviceString(arena, dev, Cl.CL_DEVICE_EXTENSIONS);
        if (!GemmPath.hasExtension(ext, GemmPath.NV_ATTRIBUTE_QUERY)) return -1;
        MemorySegment v = arena.allocate(JAVA_LONG);
        if (Cl.getDeviceInfo(dev, Cl.CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV, 4, v, MemorySegment.NULL) != Cl.CL_SUCCESS) return -1;
        int major = v.get(JAVA_INT, 0);
        if (Cl.getDeviceInfo(dev, Cl.CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV, 4, v, MemorySegment.NULL) != Cl.CL_SUCCESS) return -1;
        return major * 10 + v.get(JAVA_INT, 0);
    }
    /** clGetPlatformInfo or clGetDeviceInfo: (object, param, size, value, sizeRet) -> error code. */
    private interface InfoCall { int get(MemorySegment object, int param, long size, MemorySegment value, MemorySegment sizeRet); }

    private static String platformString(Arena arena, MemorySegment platform, int param) {
        return infoString(arena, Cl::getPlatformInfo, "clGetPlatformInfo", platform, param);
    }

    private static String deviceString(Arena arena, MemorySegment dev, int param) {
        return infoString(arena, Cl::getDeviceInfo, "clGetDeviceInfo", dev, param);
    }

    /** A string parameter: ask for its size, then read it. */
    private static String infoString(Arena arena, InfoCall call, String name, MemorySegment object, int param) {
        MemorySegment size = arena.allocate(JAVA_LONG);
        ClError.check(call.get(object, param, 0, MemorySegment.NULL, size), name);
        MemorySegment buf = arena.allocate(size.get(JAVA_LONG, 0) + 1);
        ClError.check(call.get(object, param, buf.byteSize(), buf, MemorySegment.NULL), name);
        return buf.getString(0).trim();
    }

    // cl_uint parameters are 4 bytes, cl_ulong and size_t 8; reading into a zeroed 8-byte slot covers both.
    private static long deviceInt(Arena arena, MemorySegment dev, int param) {
        MemorySegment v = arena.allocate(JAVA_LONG);
        ClError.check(Cl.getDeviceInfo(dev, param, 4, v, MemorySegment.NULL), "clGetDeviceInfo");
        return v.get(JAVA_INT, 0) & 0xFFFFFFFFL;
    }

    private static long deviceLong(Arena arena, MemorySegment dev, int param) {
        MemorySegment v = arena.allocate(JAVA_LONG);
        ClError.check(Cl.getDeviceInfo(dev, param, 8, v, MemorySegment.NULL), "clGetDeviceInfo");
        return v.get(JAVA_LONG, 0);
    }
}
