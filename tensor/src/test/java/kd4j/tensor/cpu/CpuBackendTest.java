/* Memory ops of the CPU backend (allocate, copy across every dtype pair and stride, fill), describe() and
 * Backends.open: exact values, not tolerances. */
package kd4j.tensor.cpu;

import org.junit.jupiter.api.extension.ExtendWith;
import static kd4j.tensor.cpu.Compare.CPU;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.tensor.Covers;
import kd4j.tensor.DType;
import kd4j.tensor.HostStorage;
import kd4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

@ExtendWith(VectorWidthCondition.class)
class CpuBackendTest {
    @Covers({"allocate"})
    @Test
    void allocate_isZeroFilledAnd64ByteAligned() {
        Tensor t = CPU.empty(DType.F32, 3, 5);
        assertArrayEquals(new float[15], t.toFloatArray());
        assertEquals(0, ((HostStorage) t.storage()).segment().address() % 64);
        HostStorage s = (HostStorage) CPU.allocate(DType.BF16, 7);
        assertEquals(14, s.segment().byteSize());
        for (int i = 0; i < 14; i++) assertEquals(0, s.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, i));
    }

    @Covers({"copyIn", "copyOut", "name", "sync", "close"})
    @Test
    void hostTransfers_identityAndClose() {
        Tensor t = CPU.empty(DType.I32, 2, 3);
        CPU.copyIn(t, java.lang.foreign.MemorySegment.ofArray(new int[] {1, -2, 3, 4, 5, 1 << 30, 99}));   // a longer source is fine
        CPU.sync();
        int[] out = new int[7];
        CPU.copyOut(t, java.lang.foreign.MemorySegment.ofArray(out));
        assertArrayEquals(new int[] {1, -2, 3, 4, 5, 1 << 30, 0}, out);
        var e = assertThrows(kd4j.tensor.ShapeException.class, () -> CPU.copyOut(t, java.lang.foreign.MemorySegment.ofArray(new int[5])));
        assertTrue(e.getMessage().startsWith("copyOut: destination holds 20 bytes, 24 needed"), e.getMessage());
        assertEquals("cpu", CPU.name());
        CpuBackend two = new CpuBackend(2);
        int n = 4 * ElementwiseKernels.GRAIN;   // large enough to be split over the pool
        Tensor x = two.empty(DType.F32, n), y = two.empty(DType.F32, n);
        two.close();
        var closed = assertThrows(IllegalStateException.class, () -> two.scale(x, 2f, y));
        assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
    }

    @Covers({"copy"})
    @Test
    void copy_convertsBetweenAllFloatDtypesWithRounding() {
        float[] v = {1f, -2.5f, 3.1415927f, 65504f, 1e-3f};
        Tensor f32 = CPU.fromFloats(v, 5);
        for (DType dt : new DType[] {DType.F64, DType.BF16, DType.F16, DType.F32}) {
            Tensor t = CPU.empty(dt, 5);
            CPU.copy(f32, t);
            Tensor back = CPU.empty(DType.F32, 5);
            CPU.copy(t, back);
            float[] expected = new float[5];
            for (int i = 0; i < 5; i++)
                expected[i] = switch (dt) {
                    case BF16 -> DType.bf16ToFloat(DType.floatToBf16(v[i]));
                    case F16 -> Float.float16ToFloat(Float.floatToFloat16(v[i]));
                    default -> v[i];
                };
            assertArrayEquals(expected, back.toFloatArray(), dt.toString());
        }
        assertEquals(3.140625f, DType.bf16ToFloat(DType.floatToBf16(3.1415927f)));  // round to nearest even
    }

    @Covers({"copy"})
    @Test
    void copy_stridedTransposeAndIntegers() {
        Tensor a = CPU.fromFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor t = CPU.empty(DType.F32, 3, 2);
        CPU.copy(a.transpose(0, 1), t);
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, t.toFloatArray());
        Tensor i64 = CPU.empty(DType.I64, 3);
        CPU.copy(CPU.fromInts(new int[] {7, -8, 9}, 3), i64);
        Tensor i32 = CPU.empty(DType.I32, 3);
        CPU.copy(i64, i32);
        assertArrayEquals(new int[] {7, -8, 9}, i32.toIntArray());
        assertThrows(kd4j.tensor.ShapeException.class, () -> CPU.copy(a, CPU.empty(DType.I32, 2, 3)));
    }

    @Covers({"fill"})
    @Test
    void fill_everyDtype() {
        for (DType dt : DType.values()) {
            Tensor t = CPU.empty(dt, 4);
            CPU.fill(t, 3);
            assertEquals(3.0, t.item(3), dt.toString());
        }
    }

    @Covers({"siluForward"})
    @Test
    void f64_isRefusedWithTheReferenceHint() {
        Tensor x = CPU.empty(DType.F64, 4);
        var e = assertThrows(kd4j.tensor.ShapeException.class, () -> CPU.siluForward(x, CPU.empty(DType.F64, 4)));
        assertTrue(e.getMessage().contains("reference"), e.getMessage());
    }

    @Covers({"describe"})
    @Test
    void backends_openCpuReferenceAndRejectUnknown() {
        try (Backend two = Backends.open("cpu:2")) {
            assertTrue(two.describe().startsWith("cpu: 2 threads"), two.describe());
        }
        assertEquals("reference", Backends.open("reference").name());
        assertSame(Backends.cpu(), Backends.cpu());
        var e = assertThrows(IllegalArgumentException.class, () -> Backends.open("tpu"));
        assertTrue(e.getMessage().contains("unknown backend 'tpu'") && e.getMessage().contains("cpu:N"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Backends.open("cpu:zero"));
        assertTrue(e.getMessage().contains("positive integer"), e.getMessage());
    }
}
