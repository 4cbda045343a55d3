/*
 * JMH: CPU-backend GEMM C = A B (fp32 A, fp32 or bf16 B) at square and projection-like shapes, 1 or 2 threads.
 * Score is ms per call; GFLOP/s = 2 M N K / time. `kd4j bench gemm` measures the same thing without JMH.
 *   java -jar bench/target/benchmarks.jar GemmBench -p size=1024 -p threads=1
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
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:-UseProfiledLoopPredicate", "-XX:PerBytecodeTrapLimit=100"})
public class GemmBench {
    /** "M,K,N". */
    @Param({"1024,1024,1024", "2048,2048,2048", "2048,512,2048"})
    public String shape;
    @Param({"1", "2"})
    public int threads;
    @Param({"F32", "BF16"})
    public String weightType;

    private Backend backend;
    private Tensor a, b, c;

    @Setup
    public void setup() {
        String[] p = shape.split(",");
        int m = Integer.parseInt(p[0]), k = Integer.parseInt(p[1]), n = Integer.parseInt(p[2]);
        backend = Backends.open("cpu:" + threads);
        a = random(m, k);
        Tensor b32 = random(k, n);
        b = backend.empty(DType.valueOf(weightType), k, n);
        backend.copy(b32, b);
        c = backend.empty(DType.F32, m, n);
    }

    private Tensor random(int rows, int cols) {
        Random r = new Random(rows * 31L + cols);
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = r.nextFloat() - 0.5f;
        return backend.fromFloats(v, rows, cols);
    }

    @Benchmark
    public Tensor gemm() {
        backend.gemm(false, false, 1f, a, b, 0f, c);
        return c;
    }

    @TearDown
    public void close() { backend.close(); }
}
