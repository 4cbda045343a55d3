/*
 * JMH: what a run pays once for trusting its inputs (issue #18), each check on its own so the figures can be set
 * against a scoring or training step measured with `kd4j bench score` / `kd4j bench train`:
 *   sha256      the SHA-256 a prepared set's file gets when first opened (a megabytes-sized instance file)
 *   idScan      the token-id range check of a shard against the model's vocabulary (fresh reader: nothing cached)
 *   weightScan  the NaN/Inf scan of a checkpoint tensor at load, on the mapped file (a 64 MiB fp32 weight)
 * Score is ms per call.
 *   java -jar bench/target/benchmarks.jar IntegrityChecksBench -p megabytes=1
 */
package kd4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import kd4j.data.AtomicFiles;
import kd4j.data.ShardReader;
import kd4j.data.ShardWriter;
import kd4j.models.io.SafeTensors;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
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
public class IntegrityChecksBench {
    /** Size of the token shard (uint16 ids, vocabulary 50,304) and of the file hashed. */
    @Param({"1", "16"})
    public int megabytes;

    private static final int VOCAB = 50_304;
    private Path dir, shard;
    private SafeTensors weights;

    @Setup
    public void setup() throws IOException {
        dir = Files.createTempDirectory("kd4j-integrity-bench");
        shard = dir.resolve("train-00000.bin");
        Random r = new Random(1);
        int[] seq = new int[257];
        try (ShardWriter w = new ShardWriter(shard, VOCAB)) {
            for (long bytes = 0; bytes < (long) megabytes << 20; bytes += 2L * seq.length) {
                for (int i = 0; i < seq.length; i++) seq[i] = r.nextInt(VOCAB);
                w.add(seq);
            }
        }
        Path st = dir.resolve("model.safetensors");
        float[] v = new float[16 << 20];                          // 64 MiB of fp32
        for (int i = 0; i < v.length; i++) v[i] = r.nextFloat() - 0.5f;
        Backend cpu = Backends.cpu();
        SafeTensors.write(st, Map.of("w", cpu.fromFloats(v, 4096, 4096)), Map.of());
        weights = SafeTensors.open(st);
    }

    @Benchmark
    public String sha256() throws IOException {
        return AtomicFiles.sha256(shard);
    }

    @Benchmark
    public long idScan() throws IOException {
        try (ShardReader reader = ShardReader.open(shard)) {
            reader.requireIdsBelow(VOCAB, "the benchmark model");
            return reader.size();
        }
    }

    @Benchmark
    public long weightScan() {
        return weights.firstNonFinite("w");
    }

    @TearDown
    public void close() throws IOException {
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
