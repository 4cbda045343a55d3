/*
 * Every OpenCL entry point kd4j calls, as one FFM downcall handle each, written by hand against the Khronos
 * headers (CL/cl.h, OpenCL 1.2 subset). Nothing else in the codebase touches Linker. Handles are opaque pointers
 * (MemorySegment); sizes are size_t (long on the 64-bit platforms we support); cl_int is int; cl_uint is int.
 * The loader (libOpenCL.so.1, the ICD loader) is looked up once; a missing loader is a DeviceUnavailableException.
 */
package kd4j.tensor.opencl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

final class Cl {
    private Cl() {}

    // ---- constants from CL/cl.h ----
    static final int CL_SUCCESS = 0;
    static final long CL_DEVICE_TYPE_ALL = 0xFFFFFFFFL;
    static final int CL_PLATFORM_NAME = 0x0902, CL_PLATFORM_VENDOR = 0x0903, CL_PLATFORM_VERSION = 0x0901;
    static final int CL_DEVICE_TYPE = 0x1000, CL_DEVICE_MAX_COMPUTE_UNITS = 0x1002,
            CL_DEVICE_MAX_WORK_GROUP_SIZE = 0x1004, CL_DEVICE_MAX_CLOCK_FREQUENCY = 0x100C,
            CL_DEVICE_GLOBAL_MEM_SIZE = 0x101F, CL_DEVICE_LOCAL_MEM_SIZE = 0x1023, CL_DEVICE_NAME = 0x102B,
            CL_DEVICE_VENDOR = 0x102C, CL_DRIVER_VERSION = 0x102D, CL_DEVICE_VERSION = 0x102F,
            CL_DEVICE_EXTENSIONS = 0x1030;
    /** cl_nv_device_attribute_query: the CUDA compute capability (cl_uint each). */
    static final int CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV = 0x4000, CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV = 0x4001;
    static final long CL_MEM_READ_WRITE = 1;
    static final int CL_PROGRAM_BUILD_LOG = 0x1183;
    static final int CL_TRUE = 1, CL_FALSE = 0;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIB;
    private static final String LOAD_ERROR;

    static {
        SymbolLookup lib = null;
        String error = null;
        for (String name : new String[] {"libOpenCL.so.1", "libOpenCL.so", "OpenCL"}) {
            try {
                lib = SymbolLookup.libraryLookup(name, Arena.global());
                break;
            } catch (IllegalArgumentException e) {
                error = e.getMessage();
            }
        }
        LIB = lib;
        LOAD_ERROR = lib == null ? "libOpenCL.so.1 could not be loaded: " + error : null;
    }

    /** Throws DeviceUnavailableException when the ICD loader is missing. */
    static void requireLoader() {
        if (LIB == null) throw DeviceUnavailableException.noPlatform(LOAD_ERROR);
    }

    private static MethodHandle h(String name, MemoryLayout ret, MemoryLayout... args) {
        if (LIB == null) return null;
        MemorySegment sym = LIB.find(name).orElse(null);
        if (sym == null) return null;
        FunctionDescriptor fd = ret == null ? FunctionDescriptor.ofVoid(args) : FunctionDescriptor.of(ret, args);
        return LINKER.downcallHandle(sym, fd);
    }

    private static MethodHandle need(MethodHandle mh, String name) {
        if (mh == null) {
            requireLoader();
            throw new DeviceUnavailableException("kd4j: the OpenCL loader has no entry point " + name);
        }
        return mh;
    }

    private static final MethodHandle GET_PLATFORM_IDS = h("clGetPlatformIDs", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle GET_PLATFORM_INFO = h("clGetPlatformInfo", JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
    private static final MethodHandle GET_DEVICE_IDS = h("clGetDeviceIDs", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle GET_DEVICE_INFO = h("clGetDeviceInfo", JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
    private static final MethodHandle CREATE_CONTEXT = h("clCreateContext", ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle CREATE_QUEUE = h("clCreateCommandQueue", ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS);
    private static final MethodHandle CREATE_BUFFER = h("clCreateBuffer", ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS);
    private static final MethodHandle RELEASE_MEM = h("clReleaseMemObject", JAVA_INT, ADDRESS);
    private static final MethodHandle WRITE_BUFFER = h("clEnqueueWriteBuffer", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle READ_BUFFER = h("clEnqueueReadBuffer", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle COPY_BUFFER = h("clEnqueueCopyBuffer", JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle FILL_BUFFER = h("clEnqueueFillBuffer", JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle CREATE_PROGRAM = h("clCreateProgramWithSource", ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle BUILD_PROGRAM = h("clBuildProgram", JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle GET_BUILD_INFO = h("clGetProgramBuildInfo", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
    private static final MethodHandle CREATE_KERNEL = h("clCreateKernel", ADDRESS, ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle SET_KERNEL_ARG = h("clSetKernelArg", JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS);
    private static final MethodHandle ENQUEUE_ND_RANGE = h("clEnqueueNDRangeKernel", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle FINISH = h("clFinish", JAVA_INT, ADDRESS);
    private static final MethodHandle RELEASE_KERNEL = h("clReleaseKernel", JAVA_INT, ADDRESS);
    private static final MethodHandle RELEASE_PROGRAM = h("clReleaseProgram", JAVA_INT, ADDRESS);
    private static final MethodHandle RELEASE_QUEUE = h("clReleaseCommandQueue", JAVA_INT, ADDRESS);
    private static final MethodHandle RELEASE_CONTEXT = h("clReleaseContext", JAVA_INT, ADDRESS);

    // Each wrapper rethrows nothing but Throwable-as-RuntimeException: the handles are exact, so a failure here is a bug.
    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    static int getPlatformIDs(int n, MemorySegment platforms, MemorySegment count) {
        try { return (int) need(GET_PLATFORM_IDS, "clGetPlatformIDs").invokeExact(n, platforms, count); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int getPlatformInfo(MemorySegment p, int param, long size, MemorySegment value, MemorySegment sizeRet) {
        try { return (int) need(GET_PLATFORM_INFO, "clGetPlatformInfo").invokeExact(p, param, size, value, sizeRet); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int getDeviceIDs(MemorySegment p, long type, int n, MemorySegment devices, MemorySegment count) {
        try { return (int) need(GET_DEVICE_IDS, "clGetDeviceIDs").invokeExact(p, type, n, devices, count); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int getDeviceInfo(MemorySegment d, int param, long size, MemorySegment value, MemorySegment sizeRet) {
        try { return (int) need(GET_DEVICE_INFO, "clGetDeviceInfo").invokeExact(d, param, size, value, sizeRet); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static MemorySegment createContext(MemorySegment props, int n, MemorySegment devices, MemorySegment err) {
        try { return (MemorySegment) need(CREATE_CONTEXT, "clCreateContext").invokeExact(props, n, devices, MemorySegment.NULL, MemorySegment.NULL, err); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static MemorySegment createCommandQueue(MemorySegment ctx, MemorySegment dev, long props, MemorySegment err) {
        try { return (MemorySegment) need(CREATE_QUEUE, "clCreateCommandQueue").invokeExact(ctx, dev, props, err); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static MemorySegment createBuffer(MemorySegment ctx, long flags, long size, MemorySegment err) {
        try { return (MemorySegment) need(CREATE_BUFFER, "clCreateBuffer").invokeExact(ctx, flags, size, MemorySegment.NULL, err); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int releaseMemObject(MemorySegment mem) {
        try { return (int) need(RELEASE_MEM, "clReleaseMemObject").invokeExact(mem); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int enqueueWriteBuffer(MemorySegment q, MemorySegment mem, int blocking, long offset, long size, MemorySegment src) {
        try { return (int) need(WRITE_BUFFER, "clEnqueueWriteBuffer").invokeExact(q, mem, blocking, offset, size, src, 0, MemorySegment.NULL, MemorySegment.NULL); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int enqueueReadBuffer(MemorySegment q, MemorySegment mem, int blocking, long offset, long size, MemorySegment dst) {
        try { return (int) need(READ_BUFFER, "clEnqueueReadBuffer").invokeExact(q, mem, blocking, offset, size, dst, 0, MemorySegment.NULL, MemorySegment.NULL); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int enqueueCopyBuffer(MemorySegment q, MemorySegment src, MemorySegment dst, long srcOff, long dstOff, long size) {
        try { return (int) need(COPY_BUFFER, "clEnqueueCopyBuffer").invokeExact(q, src, dst, srcOff, dstOff, size, 0, MemorySegment.NULL, MemorySegment.NULL); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int enqueueFillBuffer(MemorySegment q, MemorySegment mem, MemorySegment pattern, long patternSize, long offset, long size) {
        try { return (int) need(FILL_BUFFER, "clEnqueueFillBuffer").invokeExact(q, mem, pattern, patternSize, offset, size, 0, MemorySegment.NULL, MemorySegment.NULL); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static MemorySegment createProgramWithSource(MemorySegment ctx, MemorySegment strings, MemorySegment lengths, MemorySegment err) {
        try { return (MemorySegment) need(CREATE_PROGRAM, "clCreateProgramWithSource").invokeExact(ctx, 1, strings, lengths, err); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int buildProgram(MemorySegment program, MemorySegment deviceList, MemorySegment options) {
        try { return (int) need(BUILD_PROGRAM, "clBuildProgram").invokeExact(program, 1, deviceList, options, MemorySegment.NULL, MemorySegment.NULL); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int getProgramBuildInfo(MemorySegment program, MemorySegment device, int param, long size, MemorySegment value, MemorySegment sizeRet) {
        try { return (int) need(GET_BUILD_INFO, "clGetProgramBuildInfo").invokeExact(program, device, param, size, value, sizeRet); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static MemorySegment createKernel(MemorySegment program, MemorySegment name, MemorySegment err) {
        try { return (MemorySegment) need(CREATE_KERNEL, "clCreateKernel").invokeExact(program, name, err); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int setKernelArg(MemorySegment kernel, int index, long size, MemorySegment value) {
        try { return (int) need(SET_KERNEL_ARG, "clSetKernelArg").invokeExact(kernel, index, size, value); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int enqueueNDRangeKernel(MemorySegment q, MemorySegment kernel, int dims, MemorySegment global, MemorySegment local) {
        try { return (int) need(ENQUEUE_ND_RANGE, "clEnqueueNDRangeKernel").invokeExact(q, kernel, dims, MemorySegment.NULL, global, local, 0, MemorySegment.NULL, MemorySegment.NULL); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int finish(MemorySegment q) {
        try { return (int) need(FINISH, "clFinish").invokeExact(q); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int releaseKernel(MemorySegment k) {
        try { return (int) need(RELEASE_KERNEL, "clReleaseKernel").invokeExact(k); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int releaseProgram(MemorySegment p) {
        try { return (int) need(RELEASE_PROGRAM, "clReleaseProgram").invokeExact(p); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int releaseCommandQueue(MemorySegment q) {
        try { return (int) need(RELEASE_QUEUE, "clReleaseCommandQueue").invokeExact(q); }
        catch (Throwable t) { throw rethrow(t); }
    }

    static int releaseContext(MemorySegment c) {
        try { return (int) need(RELEASE_CONTEXT, "clReleaseContext").invokeExact(c); }
        catch (Throwable t) { throw rethrow(t); }
    }
}
