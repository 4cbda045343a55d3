/*
 * The JVM owns SIGSEGV, SIGBUS, SIGFPE and SIGUSR2 (implicit null checks, safepoint polls, stack banging). PoCL's
 * LLVM installs its own handlers for them (one-shot, SA_RESETHAND) when it builds a kernel, and a JVM fault that
 * lands in the window those leave kills the process with SIGSEGV (exit 139) and no hs_err file: the forked test JVM
 * died that way in ThreadDeterminismTest and once in the cli module. The JVM's answer is signal chaining: libjsig
 * preloaded, which keeps the JVM's handlers installed and chains a library's behind them. The kd4j launcher, the
 * test forks (surefire's LD_PRELOAD) and dev/device-bench preload it. Checked here in child JVMs run with -Xcheck:jni,
 * which reports every handler that is not the JVM's ("SIGSEGV handler modified!"), after building a kernel:
 *  - with libjsig preloaded (as this fork is), no handler is reported;
 *  - on PoCL without it, the replacement is reported (the hazard this guards against is real on this platform).
 * Skipped without OpenCL, or where the JDK has no libjsig (not Linux).
 */
package kd4j.tensor.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class SignalChainingTest {
    static final Path JSIG = Path.of(System.getProperty("java.home"), "lib", "libjsig.so");

    /** Child JVM: builds and runs a kernel on device 0, then stays up long enough for -Xcheck:jni's signal check. */
    public static void main(String[] args) throws Exception {
        try (OpenClBackend be = new OpenClBackend(0)) {
            var a = be.fromFloats(new float[] {1, 2, 3, 4}, 2, 2);
            var c = be.empty(kd4j.tensor.DType.F32, 2, 2);
            be.gemm(false, false, 1f, a, a, 0f, c);
            System.out.println("gemm " + java.util.Arrays.toString(c.toFloatArray()) + " on " + be.describe());
        }
        Thread.sleep(Long.parseLong(args[0]));
        System.out.println("done");
    }

    record Child(int exit, String out) {}

    static Child child(boolean preload) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xcheck:jni", "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), SignalChainingTest.class.getName(), "3000"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (preload) pb.environment().put("LD_PRELOAD", JSIG.toString());
        else pb.environment().remove("LD_PRELOAD");
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        return new Child(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    @Test
    void withLibjsigPreloaded_theJvmKeepsItsSignalHandlersAfterAKernelBuild() throws Exception {
        OpenClTestDevice.openOrSkip().close();
        Assumptions.assumeTrue(Files.isRegularFile(JSIG), "no " + JSIG + " (signal chaining is a Linux JDK library)");
        String preloaded = System.getenv("LD_PRELOAD");
        assertTrue(preloaded != null && preloaded.contains("libjsig.so"),
                "the test fork must run as kd4j runs, with libjsig preloaded (surefire's LD_PRELOAD); got " + preloaded);
        Child with = child(true);
        assertEquals(0, with.exit(), with.out());
        assertTrue(with.out().contains("gemm [7.0, 10.0, 15.0, 22.0]") && with.out().contains("done"), with.out());
        assertFalse(with.out().contains("handler modified"), with.out());
    }

    @Test
    void onPoclWithoutLibjsig_llvmReplacesTheJvmHandlers() throws Exception {
        String device;
        try (OpenClBackend be = OpenClTestDevice.openOrSkip()) { device = be.describe(); }
        Assumptions.assumeTrue(device.contains("Portable Computing Language"), "not PoCL: " + device);
        Child without = child(false);
        assertTrue(without.out().contains("SIGSEGV handler modified!"), without.out());
    }
}
