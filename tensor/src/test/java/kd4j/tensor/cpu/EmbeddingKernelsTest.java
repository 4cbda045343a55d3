/* Embedding lookup (fp32 / bf16 / fp16 tables) and scatter-add backward with repeated ids vs the reference. */
package kd4j.tensor.cpu;

import org.junit.jupiter.api.extension.ExtendWith;
import static kd4j.tensor.cpu.Compare.CPU;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import kd4j.tensor.Covers;
import kd4j.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@ExtendWith(VectorWidthCondition.class)
class EmbeddingKernelsTest {
    @Covers({"embeddingBackward", "embeddingForward"})
    @ParameterizedTest(name = "cols={0}") @ValueSource(ints = {1, 3, 8, 13, 64, 100, 257})
    void embedding_forwardAndBackward(int cols) {
        for (DType tt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            int vocab = 11, n = 40;
            Compare.Case c = new Compare.Case();
            int ids = c.i(Compare.ints(cols, n, vocab), 5, 8), table = c.typed(Compare.uniform(1, vocab * cols, -1, 1), tt, vocab, cols);
            int out = c.zeros(n, cols), d = c.f(Compare.uniform(2, n * cols, -1, 1), n, cols);
            int dt = c.f(Compare.uniform(3, vocab * cols, -1, 1), vocab, cols);
            c.run("embedding " + tt, (be, t) -> {
                be.embeddingForward(t[ids], t[table], t[out]);
                be.embeddingBackward(t[d], t[ids], t[dt]);
            }, 1e-6, 1e-6, out, dt);
        }
    }

    @Covers({"embeddingForward"})
    @Test
    void embedding_rejectsOutOfRangeIdWithItsPosition() {
        var e = assertThrows(IllegalArgumentException.class, () -> CPU.embeddingForward(CPU.fromInts(new int[] {0, 12}, 2),
                CPU.empty(DType.F32, 10, 4), CPU.empty(DType.F32, 2, 4)));
        assertTrue(e.getMessage().contains("ids[1] = 12") && e.getMessage().contains("[0, 10)"), e.getMessage());
    }
}
