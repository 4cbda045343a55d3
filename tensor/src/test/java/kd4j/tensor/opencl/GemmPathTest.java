/*
 * The guard of the tensor-core GEMM: which kernel a device gets for bf16 GEMMs, from fake device descriptors
 * (vendor, extension string, CUDA compute capability as cl_nv_device_attribute_query reports it). The mma.sync
 * path may be chosen only on NVIDIA devices that report compute capability 8.0 or newer; everything else, and
 * NVIDIA with -Dkd4j.opencl.mma=false, gets the plain kernel. Runs without any OpenCL device.
 */
package kd4j.tensor.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GemmPathTest {
    private static final String NV_EXT = "cl_khr_global_int32_base_atomics cl_khr_fp64 cl_nv_compiler_options "
            + "cl_nv_device_attribute_query cl_nv_pragma_unroll";

    @Test
    void tensorCoresOnlyForNvidiaFromComputeCapability80() {
        assertEquals(GemmPath.TENSOR_CORE, GemmPath.forBf16("NVIDIA Corporation", NV_EXT, 90, true), "H100 / H200 (9.0)");
        assertEquals(GemmPath.TENSOR_CORE, GemmPath.forBf16("NVIDIA Corporation", NV_EXT, 80, true), "A100 (8.0)");
        assertEquals(GemmPath.TENSOR_CORE, GemmPath.forBf16("NVIDIA Corporation", NV_EXT, 86, true), "RTX 30xx (8.6)");
        assertEquals(GemmPath.BF16, GemmPath.forBf16("NVIDIA Corporation", NV_EXT, 75, true), "T4 (7.5): no bf16 mma");
        assertEquals(GemmPath.BF16, GemmPath.forBf16("NVIDIA Corporation", NV_EXT, 70, true), "V100 (7.0)");
        assertEquals(GemmPath.BF16, GemmPath.forBf16("NVIDIA Corporation", NV_EXT, 90, false), "-Dkd4j.opencl.mma=false");
    }

    @Test
    void everyOtherDeviceGetsThePlainKernel() {
        assertEquals(GemmPath.BF16, GemmPath.forBf16("NVIDIA Corporation", "cl_khr_fp64", -1, true),
                "NVIDIA without cl_nv_device_attribute_query: capability unknown");
        assertEquals(GemmPath.BF16, GemmPath.forBf16("NVIDIA Corporation", "cl_khr_fp64 cl_nv_device_attribute_query_v2", 90, true),
                "an extension whose name only starts with the query's");
        assertEquals(GemmPath.BF16, GemmPath.forBf16("AuthenticAMD", "cl_khr_fp64 cl_amd_media_ops", -1, true), "PoCL on AMD");
        assertEquals(GemmPath.BF16, GemmPath.forBf16("Advanced Micro Devices, Inc.", "cl_khr_fp64 cl_amd_device_attribute_query", -1, true), "AMD GPU");
        assertEquals(GemmPath.BF16, GemmPath.forBf16("Intel(R) Corporation", "cl_khr_fp64 cl_intel_subgroups", -1, true), "Intel");
        assertEquals(GemmPath.BF16, GemmPath.forBf16("Some Vendor", NV_EXT, 90, true), "not NVIDIA, whatever it reports");
        assertEquals(GemmPath.BF16, GemmPath.forBf16(null, null, -1, true), "nothing reported");
    }

    @Test
    void extensionNamesMatchWholeWords() {
        assertTrue(GemmPath.hasExtension(NV_EXT, "cl_nv_device_attribute_query"));
        assertTrue(GemmPath.hasExtension(" cl_nv_device_attribute_query ", "cl_nv_device_attribute_query"));
        assertFalse(GemmPath.hasExtension("cl_nv_device_attribute_query_v2", "cl_nv_device_attribute_query"));
        assertFalse(GemmPath.hasExtension("", "cl_nv_device_attribute_query"));
    }
}
