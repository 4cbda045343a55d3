/*
 * Bit-exact determinism across JIT tiers: every kernel family must give the same output bits whether its code is
 * interpreted (a child JVM with -Xint, where the Vector API runs its Java fallback) or compiled by C2 (this JVM after
 * a warm-up, where lane reductions and math ops are intrinsics). Training relies on this: same seed and thread
 * count give the same losses, and a resumed run continues the killed one bit for bit. Before the fix,
 * reduceLanes(ADD) and lanewise(EXP/LOG1P) made these digests differ.
 */
package kd4j.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class JitDeterminismTest {
    /** Warm-up passes over every kernel: enough loop iterations for C2 to compile each kernel's hot loops. */
    private static final int WARM_UP_PASSES = 400;

    @Test
    void everyKernelFamily_sameBitsInterpretedAndCompiled() throws Exception {
        Process child = startInterpretedChild();
        try (CpuBackend be = new CpuBackend(2)) {
            KernelChecksums sums = new KernelChecksums(be);
            Map<String, Long> cold = sums.run();
            for (int i = 0; i < WARM_UP_PASSES; i++) sums.run();
            Map<String, Long> warm = sums.run();
            assertSameDigests("first pass (mostly interpreted / C1)", cold, "after warm-up (C2)", warm);

            String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(child.waitFor(120, TimeUnit.SECONDS), "the -Xint child did not finish in 120 s");
            assertEquals(0, child.exitValue(), "the -Xint child failed:\n" + out);
            Map<String, Long> interpreted = new LinkedHashMap<>();
            for (String line : out.split("\n")) {
                int eq = line.indexOf('=');
                if (eq > 0) interpreted.put(line.substring(0, eq).trim(), Long.parseUnsignedLong(line.substring(eq + 1).trim(), 16));
            }
            assertSameDigests("-Xint child", interpreted, "after warm-up (C2)", warm);
        } finally {
            child.destroyForcibly();
        }
    }

    private static void assertSameDigests(String whatA, Map<String, Long> a, String whatB, Map<String, Long> b) {
        assertEquals(b.keySet(), a.keySet(), "kernel families digested by " + whatA + " vs " + whatB);
        List<String> differ = new ArrayList<>();
        for (String family : b.keySet()) if (!a.get(family).equals(b.get(family))) differ.add(family);
        assertTrue(differ.isEmpty(), "output bits differ between " + whatA + " and " + whatB + " in " + differ
                + " (" + Simd.describe() + ")");
    }

    /** The same java binary and class path, interpreter only, at this JVM's vector width. */
    private static Process startInterpretedChild() throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = List.of(java, "-Xint", "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-Dkd4j.vectorBits=" + Simd.BITS,
                "-cp", System.getProperty("java.class.path"), KernelChecksums.class.getName());
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }
}
