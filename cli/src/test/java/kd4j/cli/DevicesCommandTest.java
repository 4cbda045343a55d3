/*
 * `kd4j devices` and `kd4j kernels` through picocli with captured out/err: the kernel list names every kernel with its
 * file's SHA-256 (recomputed here from the jar's resource), and the device list numbers OpenCL devices as opencl:N.
 */
package kd4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import kd4j.tensor.opencl.ClDevice;
import org.junit.jupiter.api.Test;

class DevicesCommandTest {
    @Test
    void kernelsListsEveryKernelWithItsFileHash() throws Exception {
        var run = CliRunner.run("kernels");
        assertEquals(0, run.exit(), run.err());
        // the hash is of the source built: the shared header common.cl, a newline, then gemm.cl
        var built = new java.io.ByteArrayOutputStream();
        try (InputStream in = ClDevice.class.getResourceAsStream("/kd4j/opencl/common.cl")) { in.transferTo(built); }
        built.write('\n');
        try (InputStream in = ClDevice.class.getResourceAsStream("/kd4j/opencl/gemm.cl")) { in.transferTo(built); }
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(built.toByteArray()));
        assertTrue(run.out().lines().anyMatch(l -> l.matches("gemm\\s+gemm\\.cl\\s+" + sha)), run.out());
        for (String k : new String[] {"rms_norm_forward", "rms_norm_backward_dx", "attention_backward_dkdv",
                "cross_entropy_forward", "adamw_step", "selective_scan_backward", "copy_float"})
            assertTrue(run.out().lines().anyMatch(l -> l.startsWith(k + " ")), k + " missing from:\n" + run.out());
        var files = CliRunner.run("kernels", "--files");
        assertEquals(12, files.out().lines().count(), files.out());
    }

    @Test
    void devicesNumbersOpenClDevices() {
        var run = CliRunner.run("devices");
        assertTrue(run.out().startsWith("cpu "), run.out());
        assertTrue(run.out().contains("gemm: fp32 (Vector API); --precision bf16 is refused here"), run.out());
        boolean any;
        try { any = !ClDevice.list().isEmpty(); } catch (RuntimeException e) { any = false; }
        if (!any) {
            assertEquals(ExitCodes.DEVICE_UNAVAILABLE, run.exit());
            assertTrue(run.err().contains("apt-get install pocl-opencl-icd"), run.err());
            return;
        }
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("\nopencl:0   " + ClDevice.list().get(0).name()), run.out());
        // each OpenCL device says which GEMM kernel a bf16 run gets (PoCL and every non-NVIDIA device: the plain one)
        String path = kd4j.tensor.opencl.GemmPath.forBf16(ClDevice.list().get(0)).description();
        assertTrue(run.out().contains("gemm: plain kernel, fp32; --precision bf16: " + path), run.out());
    }

    @Test
    void badDeviceSpecIsAUsageErrorNamingTheValidOnes() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> { DeviceOptions o = new DeviceOptions(); o.device = "tpu"; o.open(); });
        assertTrue(e.getMessage().contains("opencl:N"), e.getMessage());
    }
}
