/*
 * Models.randomInit with bf16 matrices (kd4j bench score --weight-dtype bf16): the weights an inference load may keep
 * in half precision (GEMM operands, embeddings) are the fp32 init's values rounded to nearest even bf16 and frozen;
 * everything else (norms, biases, Mamba's scan parameters) is the same F32 trainable tensor as the plain init. Every
 * family.
 */
package kd4j.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import kd4j.autograd.Parameter;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.reference.ReferenceBackend;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RandomWeightsTest {
    final Backend be = new ReferenceBackend();

    /** Round to nearest even bf16, by hand on the bits (finite inputs). */
    static float bf16(float x) {
        int b = Float.floatToRawIntBits(x);
        return Float.intBitsToFloat((b + 0x7FFF + ((b >>> 16) & 1)) & 0xFFFF0000);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3", "mamba"})
    void bf16Matrices_areTheFp32InitRoundedAndFrozen(String family) {
        ModelConfig cfg = TinyConfigs.parse(TinyConfigs.ALL.get(family));
        List<Parameter> plain = Models.randomInit(cfg, be, 7).parameters().all();
        List<Parameter> half = Models.randomInit(cfg, be, 7, true).parameters().all();
        assertEquals(plain.size(), half.size());
        int rounded = 0;
        for (int i = 0; i < plain.size(); i++) {
            Parameter p = plain.get(i), h = half.get(i);
            assertEquals(p.name(), h.name());
            assertEquals(DType.F32, p.data().dtype(), p.name());
            float[] want = p.data().toFloatArray(), got = h.data().toFloatArray();
            if (h.data().dtype() == DType.BF16) {
                rounded++;
                assertFalse(h.requiresGrad(), h.name() + " is frozen");
                for (int j = 0; j < want.length; j++) want[j] = bf16(want[j]);
            } else {
                assertEquals(DType.F32, h.data().dtype(), h.name());
                assertTrue(h.requiresGrad(), h.name() + " stays trainable");
            }
            assertArrayEquals(want, got, h.name());
        }
        assertTrue(rounded >= cfg.numHiddenLayers(), family + ": every layer's matrices are bf16, got " + rounded);
    }
}
