/*
 * The same wrong arguments, fed to every backend, get the same message: one mistake per Backend method (and a few
 * more), each run on the CPU backend, the reference backend and OpenCL (PoCL on this machine; skipped with the
 * apt-get line when there is none). The CPU message must start with the expected "op: problem" text, and the other
 * backends must report it character for character. Value checks that only the host backends make (ids, targets)
 * compare CPU with reference; F64 and layout mistakes, which the reference accepts, compare CPU with OpenCL.
 */
package kd4j.tensor;

import static kd4j.tensor.DType.BF16;
import static kd4j.tensor.DType.F16;
import static kd4j.tensor.DType.F32;
import static kd4j.tensor.DType.F64;
import static kd4j.tensor.DType.I32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import kd4j.tensor.cpu.CpuBackend;
import kd4j.tensor.opencl.OpenClBackend;
import kd4j.tensor.reference.ReferenceBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class BackendChecksTest {
    private static final CpuBackend CPU = new CpuBackend(1);
    private static final ReferenceBackend REF = new ReferenceBackend();
    private static Backend cl;
    private static String clUnavailable;

    @BeforeAll
    static void openOpenCl() {
        try {
            cl = OpenClBackend.open("opencl:0");
        } catch (RuntimeException | LinkageError e) {   // no platform, no device, or no libOpenCL at all
            clUnavailable = e.getMessage();
        }
    }

    @AfterAll
    static void close() {
        CPU.close();
        if (cl != null) cl.close();
    }

    /** Which backends see the mistake as one: all three, the host ones (value checks), or the F32-only ones. */
    enum Where { ALL, HOST, F32_ONLY }

    record Mistake(String expected, Where where, Consumer<Backend> call) {
        @Override public String toString() { return expected; }
    }

    private static Mistake all(String expected, Consumer<Backend> call) { return new Mistake(expected, Where.ALL, call); }

    private static Tensor f(Backend be, int... shape) { return be.zeros(F32, shape); }

    private static Tensor typed(Backend be, DType dt, int... shape) { return be.zeros(dt, shape); }

    static Stream<Mistake> mistakes() {
        return Stream.of(
                // memory
                all("allocate: negative element count -1", be -> be.allocate(F32, -1)),
                all("copyIn: source holds 8 bytes, 24 needed", be -> be.copyIn(f(be, 2, 3), MemorySegment.ofArray(new float[2]))),
                all("copyOut: destination holds 4 bytes, 24 needed", be -> be.copyOut(f(be, 2, 3), MemorySegment.ofArray(new float[1]))),
                all("copy: src and dst shapes differ", be -> be.copy(f(be, 2, 3), f(be, 3, 2))),
                all("copy: cannot convert between floating and integer dtypes", be -> be.copy(f(be, 2, 3), typed(be, I32, 2, 3))),
                new Mistake("fill: dst must be contiguous", Where.F32_ONLY, be -> be.fill(f(be, 2, 3).transpose(0, 1), 1)),
                // elementwise
                all("add: b must have a's shape or a's trailing dims", be -> be.add(f(be, 2, 3), f(be, 2), f(be, 2, 3))),
                all("mul: a and out shapes differ", be -> be.mul(f(be, 2, 3), f(be, 3), f(be, 3, 2))),
                all("addScaled: x must have 6 elements, has 5", be -> be.addScaled(f(be, 2, 3), f(be, 5), 1f)),
                all("scale: out must have 6 elements, has 5", be -> be.scale(f(be, 2, 3), 2f, f(be, 5))),
                all("sumRowsBackward: dOut must be a whole number of rows of dB's 4 elements", be -> be.sumRowsBackward(f(be, 2, 3), f(be, 4))),
                all("siluForward: x must be F32, found I32", be -> be.siluForward(typed(be, I32, 4), f(be, 4))),
                all("siluBackward: x and dX shapes differ", be -> be.siluBackward(f(be, 4), f(be, 4), f(be, 2, 2))),
                all("geluForward: x and out shapes differ", be -> be.geluForward(f(be, 2, 3), f(be, 3, 2))),
                all("geluBackward: x and dOut shapes differ", be -> be.geluBackward(f(be, 5), f(be, 4), f(be, 4))),
                all("softplusForward: out may not alias x", be -> { Tensor x = f(be, 4, 16); be.softplusForward(x, x); }),
                all("softplusBackward: x must be F32, found BF16", be -> be.softplusBackward(f(be, 4), typed(be, BF16, 4), f(be, 4))),
                all("swigluForward: gate and up shapes differ", be -> be.swigluForward(f(be, 2, 3), f(be, 6), f(be, 2, 3))),
                all("swigluBackward: gate and dUp shapes differ", be -> be.swigluBackward(f(be, 6), f(be, 6), f(be, 6), f(be, 6), f(be, 5))),
                // reduce
                all("sum: x must be F32, found I32", be -> be.sum(typed(be, I32, 3))),
                all("sumOfSquares: x is null", be -> be.sumOfSquares(null)),
                all("selectiveScanStep: aLog is null",
                        be -> be.selectiveScanStep(f(be, 1, 4), f(be, 1, 4), null, f(be, 1, 3), f(be, 1, 3), f(be, 4), f(be, 1, 4, 3), f(be, 1, 4))),
                all("layerNormBackward: dX is null",
                        be -> be.layerNormBackward(f(be, 2, 3), f(be, 2, 3), f(be, 3), f(be, 2), f(be, 2), null, f(be, 3), null)),
                all("allFinite: x must be F32, found F16", be -> be.allFinite(typed(be, F16, 3))),
                all("softmaxForward: x and out shapes differ", be -> be.softmaxForward(f(be, 2, 3), f(be, 2, 4))),
                all("softmaxBackward: out and dOut shapes differ", be -> be.softmaxBackward(f(be, 2, 4), f(be, 2, 3), f(be, 2, 3))),
                all("logSoftmaxForward: out must be F32, found I32", be -> be.logSoftmaxForward(f(be, 2, 3), typed(be, I32, 2, 3))),
                all("logSoftmaxBackward: out and dX shapes differ", be -> be.logSoftmaxBackward(f(be, 2, 3), f(be, 2, 3), f(be, 3, 2))),
                // norm
                all("rmsNormForward: w must have 3 elements, has 4", be -> be.rmsNormForward(f(be, 2, 3), f(be, 4), 1e-5f, f(be, 2, 3), f(be, 2))),
                all("rmsNormBackward: dW must have 3 elements, has 2",
                        be -> be.rmsNormBackward(f(be, 2, 3), f(be, 2, 3), f(be, 3), f(be, 2), f(be, 2, 3), f(be, 2))),
                all("layerNormForward: mean must have one value per row (2), has 3",
                        be -> be.layerNormForward(f(be, 2, 3), f(be, 3), null, 1e-5f, f(be, 2, 3), f(be, 3), f(be, 2))),
                all("layerNormBackward: w must be F32, BF16 or F16, found I32",
                        be -> be.layerNormBackward(f(be, 2, 3), f(be, 2, 3), typed(be, I32, 3), f(be, 2), f(be, 2), f(be, 2, 3), f(be, 3), null)),
                // gemm
                all("gemm: inner dimensions differ (op(a) is [2, 3], op(b) is [4, 5]; transA=false transB=false)",
                        be -> be.gemm(false, false, 1f, f(be, 2, 3), f(be, 4, 5), 0f, f(be, 2, 5))),
                all("gemm: c must be [3, 5]", be -> be.gemm(true, false, 1f, f(be, 2, 3), f(be, 2, 5), 0f, f(be, 2, 5))),
                all("gemm: batch sizes differ", be -> be.gemm(false, false, 1f, f(be, 2, 3, 4), f(be, 3, 4, 5), 0f, f(be, 2, 3, 5))),
                all("gemm: c may not alias a or b", be -> { Tensor sq = f(be, 4, 4); be.gemm(false, false, 1f, sq, f(be, 4, 4), 0f, sq); }),
                // rope
                all("ropeForward: head dim D must be even", be -> be.ropeForward(f(be, 1, 2, 2, 5), f(be, 2), 0, f(be, 1, 2, 2, 5))),
                all("ropeBackward: invFreq must have 2 elements, has 3", be -> be.ropeBackward(f(be, 1, 2, 2, 4), f(be, 3), 0, f(be, 1, 2, 2, 4))),
                // embedding
                all("embeddingForward: ids must be I32, found F32", be -> be.embeddingForward(f(be, 3), f(be, 5, 4), f(be, 3, 4))),
                all("embeddingBackward: dTable must have rank 2 [V, C]", be -> be.embeddingBackward(f(be, 3, 4), be.fromInts(new int[3], 3), f(be, 20))),
                new Mistake("embeddingForward: ids[1] = 7 is outside the table [0, 5)", Where.HOST,
                        be -> be.embeddingForward(be.fromInts(new int[] {0, 7, 1}, 3), f(be, 5, 4), f(be, 3, 4))),
                // attention
                all("attentionForward: H must be a multiple of Hkv",
                        be -> be.attentionForward(f(be, 1, 3, 3, 4), f(be, 1, 3, 2, 4), f(be, 1, 3, 2, 4), 0.5f, 0, null, f(be, 1, 3, 3, 4), f(be, 1, 3, 3))),
                all("attentionBackward: lse must be [B, H, T] = [1, 2, 3]",
                        be -> be.attentionBackward(f(be, 1, 3, 2, 4), f(be, 1, 3, 2, 4), f(be, 1, 3, 1, 4), f(be, 1, 3, 1, 4), f(be, 1, 3, 2, 4),
                                f(be, 1, 3, 2), 0.5f, 0, null, f(be, 1, 3, 2, 4), f(be, 1, 3, 1, 4), f(be, 1, 3, 1, 4))),
                all("attentionForward: keyMask must be [B, S] = [1, 3]",
                        be -> be.attentionForward(f(be, 1, 3, 2, 4), f(be, 1, 3, 1, 4), f(be, 1, 3, 1, 4), 0.5f, 0, be.fromInts(new int[3], 3),
                                f(be, 1, 3, 2, 4), f(be, 1, 2, 3))),
                // cross-entropy
                all("crossEntropyForward: targets must have 2 elements, has 3",
                        be -> be.crossEntropyForward(f(be, 2, 4), be.fromInts(new int[3], 3), -100, f(be, 2), f(be, 2))),
                all("crossEntropyBackward: logits and dLogits shapes differ",
                        be -> be.crossEntropyBackward(f(be, 2), f(be, 2, 4), be.fromInts(new int[2], 2), f(be, 2), -100, f(be, 2, 5))),
                new Mistake("crossEntropyForward: targets[1] = 9 is outside [0, 4) and is not ignoreIndex -100", Where.HOST,
                        be -> be.crossEntropyForward(f(be, 2, 4), be.fromInts(new int[] {-100, 9}, 2), -100, f(be, 2), f(be, 2))),
                // distill
                all("distillForward: student and teacher shapes differ",
                        be -> be.distillForward(Backend.Divergence.FORWARD_KL, 1f, f(be, 2, 4), f(be, 2, 5), f(be, 2))),
                all("distillBackward: temperature tau must be a positive number, got 0.0",
                        be -> be.distillBackward(Backend.Divergence.SOFT_CE, 0f, f(be, 2), f(be, 2, 4), f(be, 2, 4), f(be, 2, 4))),
                all("sparseDistillForward: ids must be [N, K] with N = 2 student rows",
                        be -> be.sparseDistillForward(1f, f(be, 2, 4), be.fromInts(new int[6], 6), f(be, 6), f(be, 2), f(be, 2))),
                all("sparseDistillBackward: ids and probs shapes differ",
                        be -> be.sparseDistillBackward(1f, f(be, 2), f(be, 2, 4), be.fromInts(new int[6], 2, 3), f(be, 2, 2), f(be, 2), f(be, 2, 4))),
                new Mistake("sparseDistillForward: ids[0, 1] = 9 is outside the vocabulary [0, 4) (negative ids mean 'skip')", Where.HOST,
                        be -> be.sparseDistillForward(1f, f(be, 2, 4), be.fromInts(new int[] {0, 9, -1, 2}, 2, 2), f(be, 2, 2), f(be, 2), f(be, 2))),
                // conv/scan
                all("causalConv1dForward: w must be [C, K] with x's C", be -> be.causalConv1dForward(f(be, 1, 5, 3), f(be, 4, 4), null, f(be, 1, 5, 3))),
                all("causalConv1dBackward: w and dW shapes differ",
                        be -> be.causalConv1dBackward(f(be, 1, 5, 3), f(be, 1, 5, 3), f(be, 3, 4), f(be, 1, 5, 3), f(be, 3, 3), null)),
                all("causalConv1dStep: convState must be [B, C, K-1] = [1, 3, 3]",
                        be -> be.causalConv1dStep(f(be, 1, 3), f(be, 3, 4), f(be, 3), f(be, 1, 3, 4), f(be, 1, 3))),
                all("selectiveScanForward: bMat must be [B, T, N] = [1, 2, 3]",
                        be -> be.selectiveScanForward(f(be, 1, 2, 4), f(be, 1, 2, 4), f(be, 4, 3), f(be, 1, 2, 4), f(be, 1, 2, 3), f(be, 4), f(be, 1, 2, 4))),
                all("selectiveScanBackward: dD must have 4 elements, has 3",
                        be -> be.selectiveScanBackward(f(be, 1, 2, 4), f(be, 1, 2, 4), f(be, 1, 2, 4), f(be, 4, 3), f(be, 1, 2, 3), f(be, 1, 2, 3),
                                f(be, 4), f(be, 1, 2, 4), f(be, 1, 2, 4), f(be, 4, 3), f(be, 1, 2, 3), f(be, 1, 2, 3), f(be, 3))),
                all("selectiveScanStep: state must be [B, I, N] = [1, 4, 3]",
                        be -> be.selectiveScanStep(f(be, 1, 4), f(be, 1, 4), f(be, 4, 3), f(be, 1, 3), f(be, 1, 3), f(be, 4), f(be, 1, 4, 2), f(be, 1, 4))),
                // optim
                all("adamwStep: step counts from 1, got 0", be -> be.adamwStep(f(be, 6), f(be, 6), f(be, 6), f(be, 6), 1e-3f, 0.9f, 0.99f, 1e-8f, 0f, 0)),
                all("sgdStep: momentumBuffer must have 6 elements, has 5", be -> be.sgdStep(f(be, 6), f(be, 6), f(be, 5), 0.1f, 0.9f, 0f)),
                // F64 and layouts: refused by the F32 backends alike, accepted by the reference
                new Mistake("siluForward: x must be F32, found F64; F64 is computed by the reference backend only", Where.F32_ONLY,
                        be -> be.siluForward(typed(be, F64, 4), f(be, 4))),
                new Mistake("rmsNormForward: x must be contiguous (call contiguous() first)", Where.F32_ONLY,
                        be -> be.rmsNormForward(f(be, 3, 2).transpose(0, 1), f(be, 3), 1e-5f, f(be, 2, 3), f(be, 2))));
    }

    private static String message(Backend be, Mistake m) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.call.accept(be), be.name() + ": " + m.expected);
        return e.getMessage();
    }

    private static String cpuMessage(Mistake m) {
        String cpu = message(CPU, m);
        assertTrue(cpu.startsWith(m.expected), "cpu: expected a message starting with '" + m.expected + "', got '" + cpu + "'");
        return cpu;
    }

    @ParameterizedTest(name = "{0}") @MethodSource("mistakes")
    void referenceReportsWhatCpuReports(Mistake m) {
        Assumptions.assumeTrue(m.where != Where.F32_ONLY, "the reference backend accepts F64 and strided operands");
        assertEquals(cpuMessage(m), message(REF, m));
    }

    @ParameterizedTest(name = "{0}") @MethodSource("mistakes")
    void openClReportsWhatCpuReports(Mistake m) {
        Assumptions.assumeTrue(cl != null, "OpenCL unavailable (" + clUnavailable + "); install one with: "
                + "sudo apt-get install pocl-opencl-icd ocl-icd-libopencl1");
        Assumptions.assumeTrue(m.where != Where.HOST, "the OpenCL backend does not read ids and targets back to check their values");
        assertEquals(cpuMessage(m), message(cl, m));
    }

    /** Every Backend method that takes tensors, called with null for all of them (and plain values for the rest). */
    static Stream<java.lang.reflect.Method> tensorMethods() {
        return Stream.of(Backend.class.getMethods())
                .filter(m -> java.lang.reflect.Modifier.isAbstract(m.getModifiers()))
                .filter(m -> List.of(m.getParameterTypes()).contains(Tensor.class))
                .sorted(java.util.Comparator.comparing(java.lang.reflect.Method::getName));
    }

    private static Object plain(Class<?> type) {
        if (type == float.class) return 1f;
        if (type == int.class) return 1;
        if (type == double.class) return 1.0;
        if (type == boolean.class) return false;
        if (type == Backend.Divergence.class) return Backend.Divergence.FORWARD_KL;
        if (type == MemorySegment.class) return MemorySegment.ofArray(new float[4]);
        return null;   // Tensor
    }

    private static String nullMessage(Backend be, java.lang.reflect.Method m) {
        Object[] args = Stream.of(m.getParameterTypes()).map(BackendChecksTest::plain).toArray();
        var e = assertThrows(java.lang.reflect.InvocationTargetException.class, () -> m.invoke(be, args), be.name() + " " + m.getName());
        assertTrue(e.getCause() instanceof ShapeException, be.name() + " " + m.getName() + ": " + e.getCause());
        return e.getCause().getMessage();
    }

    /** No backend dereferences an operand before checking it: nulls are reported by name, alike everywhere. */
    @ParameterizedTest(name = "{0}") @MethodSource("tensorMethods")
    void nullOperandsAreNamedNotDereferenced(java.lang.reflect.Method m) {
        String cpu = nullMessage(CPU, m);
        assertTrue(cpu.matches(m.getName() + ": [a-zA-Z]+ is null"), cpu);
        assertEquals(cpu, nullMessage(REF, m));
        if (cl != null) assertEquals(cpu, nullMessage(cl, m));
    }

    @Test
    void shapeMistakesAreShapeExceptionsNamingEveryTensor() {
        ShapeException e = assertThrows(ShapeException.class, () -> CPU.gemm(false, false, 1f, f(CPU, 2, 3), f(CPU, 4, 5), 0f, f(CPU, 2, 5)));
        assertEquals("gemm: inner dimensions differ (op(a) is [2, 3], op(b) is [4, 5]; transA=false transB=false): a=[2, 3] F32 b=[4, 5] F32",
                e.getMessage());
        e = assertThrows(ShapeException.class, () -> REF.swigluForward(f(REF, 2, 3), f(REF, 6), f(REF, 2, 3)));
        assertEquals("swigluForward: gate and up shapes differ: gate=[2, 3] F32 up=[6] F32", e.getMessage());
    }

    @Test
    void aTensorOnAnotherBackendNamesBothBackendsAndTheFix() {
        Tensor onRef = f(REF, 2, 3);
        CPU.siluForward(onRef, f(CPU, 2, 3));   // host memory is host memory: the CPU computes on reference tensors
        Assumptions.assumeTrue(cl != null, "OpenCL unavailable (" + clUnavailable + ")");
        Tensor onCl = f(cl, 2, 3);
        for (Backend host : List.of(CPU, REF)) {
            ShapeException e = assertThrows(ShapeException.class, () -> host.siluForward(onCl, f(host, 2, 3)));
            assertEquals("siluForward: x lives on " + cl.name() + ", not in host memory; copy it there first with upload(x) on the cpu or"
                    + " reference backend: x=[2, 3] F32", e.getMessage());
        }
        ShapeException e = assertThrows(ShapeException.class, () -> cl.siluForward(f(cl, 2, 3), onRef));
        assertEquals("siluForward: out lives on reference, not on " + cl.name() + "; copy it there first with upload(out) on " + cl.name()
                + ": out=[2, 3] F32", e.getMessage());
    }
}
