/*
 * JMH: CPU-backend causal attention, forward and forward+backward, for B=1, H=8 (GQA with 2 kv heads as a
 * variant), D=64 over sequence lengths. Score is ms per call.
 *   java -jar bench/target/benchmarks.jar AttentionBench -p seq=1024 -p threads=1
 */
package kd4j.bench;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:-UseProfiledLoopPredicate", "-XX:PerBytecodeTrapLimit=100"})
public class AttentionBench {
    @Param({"256", "1024", "2048"})
    public int seq;
    @Param({"8", "2"})
    public int kvHeads;
    @Param({"1", "2"})
    public int threads;

    private static final int HEADS = 8, HEAD_DIM = 64;
    private Backend backend;
    private Tensor q, k, v, dOut, out, lse, dq, dk, dv;
    private float scale;

    @Setup
    public void setup() {
        backend = Backends.open("cpu:" + threads);
        Random r = new Random(seq);
        q = random(r, 1, seq, HEADS, HEAD_DIM);
        k = random(r, 1, seq, kvHeads, HEAD_DIM);
        v = random(r, 1, seq, kvHeads, HEAD_DIM);
        dOut = random(r, 1, seq, HEADS, HEAD_DIM);
        out = backend.empty(DType.F32, q.shape());
        lse = backend.empty(DType.F32, 1, HEADS, seq);
        dq = backend.empty(DType.F32, q.shape());
        dk = backend.empty(DType.F32, k.shape());
        dv = backend.empty(DType.F32, v.shape());
        scale = (float) (1 / Math.sqrt(HEAD_DIM));
    }

    private Tensor random(Random r, int... shape) {
        float[] x = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat() * 2 - 1;
        return backend.fromFloats(x, shape);
    }

    @Benchmark
    public Tensor forward() {
        backend.attentionForward(q, k, v, scale, 0, null, out, lse);
        return out;
    }

    @Benchmark
    public Tensor forwardBackward() {
        backend.attentionForward(q, k, v, scale, 0, null, out, lse);
        backend.attentionBackward(dOut, q, k, v, out, lse, scale, 0, null, dq, dk, dv);
        return dq;
    }

    @TearDown
    public void close() { backend.close(); }
}
