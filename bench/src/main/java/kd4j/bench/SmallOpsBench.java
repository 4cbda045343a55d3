/*
 * JMH: ops small enough that the per-call argument checks (BackendChecks) are a visible share of the time, on the
 * CPU backend with one thread: a 64-element add, an RMSNorm over [4, 64], a [4, 64] x [64, 64]^T GEMM and one
 * decoding step of attention (one query, 32 cached keys, 4 heads over 2 kv heads, D 32). Run it with -prof gc: the
 * gc.alloc.rate.norm column (bytes per op) shows whether the dims records the checks return are scalar-replaced.
 * Score is ns per call (8 warm-up seconds: the attention kernel is slow to reach its compiled steady state).
 *   java -jar bench/target/benchmarks.jar SmallOpsBench -prof gc
 */
package kd4j.bench;

import java.util.concurrent.TimeUnit;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import kd4j.tensor.cpu.CpuBackend;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 8, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:-UseProfiledLoopPredicate", "-XX:PerBytecodeTrapLimit=100"})
public class SmallOpsBench {
    private CpuBackend cpu;
    private Tensor a, b, sum;
    private Tensor x, w, normOut, invRms;
    private Tensor gemmA, gemmB, gemmC;
    private Tensor q, k, v, attnOut, lse;

    @Setup
    public void setup() {
        cpu = new CpuBackend(1);
        a = filled(64); b = filled(64); sum = cpu.empty(DType.F32, 64);
        x = filled(4, 64); w = filled(64); normOut = cpu.empty(DType.F32, 4, 64); invRms = cpu.empty(DType.F32, 4);
        gemmA = filled(4, 64); gemmB = filled(64, 64); gemmC = cpu.empty(DType.F32, 4, 64);
        q = filled(1, 1, 4, 32); k = filled(1, 32, 2, 32); v = filled(1, 32, 2, 32);
        attnOut = cpu.empty(DType.F32, 1, 1, 4, 32); lse = cpu.empty(DType.F32, 1, 4, 1);
    }

    private Tensor filled(int... shape) {
        float[] values = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < values.length; i++) values[i] = (float) Math.sin(i * 0.37);
        return cpu.fromFloats(values, shape);
    }

    @TearDown
    public void tearDown() { cpu.close(); }

    @Benchmark
    public Tensor add64() {
        cpu.add(a, b, sum);
        return sum;
    }

    @Benchmark
    public Tensor rmsNorm4x64() {
        cpu.rmsNormForward(x, w, 1e-5f, normOut, invRms);
        return normOut;
    }

    @Benchmark
    public Tensor gemm4x64x64() {
        cpu.gemm(false, true, 1f, gemmA, gemmB, 0f, gemmC);
        return gemmC;
    }

    @Benchmark
    public Tensor attentionDecodeStep() {
        cpu.attentionForward(q, k, v, 0.17677669f, 31, null, attnOut, lse);
        return attnOut;
    }
}
