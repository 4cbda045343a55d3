/*
 * The OpenCL C sources under resources kd4j/opencl/: one file per op family, loaded once, with the SHA-256 of each
 * file and the kernels it defines. This is what `kd4j kernels` prints, so a run can name the exact kernel code it used.
 */
package kd4j.tensor.opencl;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public final class KernelSource {
    /** Every family, in the order of the Backend interface (plus copy). */
    public static final List<String> FAMILIES = List.of("copy", "elementwise", "reduce", "norm", "gemm", "rope",
            "embedding", "attention", "cross_entropy", "distill", "conv_scan", "optim");

    private static final Pattern KERNEL = Pattern.compile("\\bkernel\\s+void\\s+(\\w+)\\s*\\(");
    private static final Map<String, Entry> CACHE = new ConcurrentHashMap<>();

    /** One .cl file: family "norm", file "norm.cl", its text, SHA-256 (hex) and kernel names in file order. */
    public record Entry(String family, String file, String source, String sha256, List<String> kernels) {}

    private KernelSource() {}

    public static Entry load(String family) {
        return CACHE.computeIfAbsent(family, KernelSource::read);
    }

    public static List<Entry> all() {
        List<Entry> out = new ArrayList<>();
        for (String f : FAMILIES) out.add(load(f));
        return out;
    }

    private static Entry read(String family) {
        String path = "/kd4j/opencl/" + family + ".cl";
        try (InputStream in = KernelSource.class.getResourceAsStream(path)) {
            if (in == null) throw new IllegalStateException("opencl: kernel source " + path + " is missing from the jar");
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            List<String> names = new ArrayList<>();
            Matcher m = KERNEL.matcher(text);
            while (m.find()) names.add(m.group(1));
            return new Entry(family, family + ".cl", text, sha256(text), List.copyOf(names));
        } catch (IOException e) {
            throw new UncheckedIOException("opencl: cannot read " + path, e);
        }
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
