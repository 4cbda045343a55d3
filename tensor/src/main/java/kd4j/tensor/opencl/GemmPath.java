/*
 * Which GEMM kernel an OpenCL device runs, decided from what the device reports (no trial compile):
 *   TENSOR_CORE  gemm.cl built with -DMMA: warp-level mma.sync.aligned.m16n8k16 bf16 x bf16 -> fp32 through inline
 *                PTX, for GEMMs whose a and b are both BF16 (run.precision bf16), on NVIDIA devices of compute
 *                capability 8.0 or newer (sm_80: the first with bf16 mma) that report it via
 *                cl_nv_device_attribute_query. Untested on hardware until a device is lent (docs/performance.md).
 *   BF16         the plain gemm.cl kernel reading bf16 inputs, widened as loaded, fp32 FMA: every other device.
 *   FP32         the plain kernel on fp32 inputs: every fp32 GEMM on every device.
 * -Dkd4j.opencl.mma=false forces BF16 on NVIDIA too (A/B runs against the tensor-core path).
 */
package kd4j.tensor.opencl;

import java.util.Arrays;
import java.util.Locale;

public enum GemmPath {
    TENSOR_CORE("tensor cores (mma.sync m16n8k16 bf16, fp32 accumulation)"),
    BF16("plain kernel, bf16 inputs widened as loaded, fp32 FMA"),
    FP32("plain kernel, fp32");

    static final String NV_ATTRIBUTE_QUERY = "cl_nv_device_attribute_query";
    /** sm_80 (A100) introduced mma.sync with .bf16 operands. */
    static final int MIN_MMA_COMPUTE_CAPABILITY = 80;

    private final String description;

    GemmPath(String description) { this.description = description; }

    public String description() { return description; }

    /**
     * The path of GEMMs with bf16 a and b on a device: vendor and extensions as the device reports them,
     * nvComputeCapability major * 10 + minor (-1 when unknown); mmaEnabled false forces the plain kernel.
     */
    public static GemmPath forBf16(String vendor, String extensions, int nvComputeCapability, boolean mmaEnabled) {
        boolean nvidia = vendor != null && vendor.toUpperCase(Locale.ROOT).contains("NVIDIA");
        if (mmaEnabled && nvidia && hasExtension(extensions, NV_ATTRIBUTE_QUERY)
                && nvComputeCapability >= MIN_MMA_COMPUTE_CAPABILITY) return TENSOR_CORE;
        return BF16;
    }

    /** The bf16 path of a listed device, honouring -Dkd4j.opencl.mma. */
    public static GemmPath forBf16(ClDevice d) {
        return forBf16(d.vendor(), d.extensions(), d.nvComputeCapability(),
                !"false".equals(System.getProperty("kd4j.opencl.mma")));
    }

    /** Whether the space-separated extension list names ext exactly (not as a prefix of another name). */
    static boolean hasExtension(String extensions, String ext) {
        return extensions != null && Arrays.asList(extensions.trim().split("\\s+")).contains(ext);
    }
}
