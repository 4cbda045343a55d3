/*
 * The OpenCL C sources under resources kd4j/opencl/: one file per op family, loaded once, with the kernels it defines
 * and the SHA-256 of the source that is built from it: the shared header common.cl (helpers such as group_sum and
 * group_lse, written once) followed by the family's file. This is what `kd4j kernels` prints, so a run can name the
 * exact kernel code it used. Build errors report lines of that combined source.
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

    /** The shared header every family's source starts with. */
    public static final String HEADER = "common.cl";

    /**
     * One family: "norm", its file "norm.cl", the source built (HEADER then the file), that source's SHA-256 (hex)
     * and the kernel names in file order.
     */
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
        String text = resource(family + ".cl");
        List<String> names = new ArrayList<>();
        Matcher m = KERNEL.matcher(text);
        while (m.find()) names.add(m.group(1));
        String source = header() + "\n" + text;
        return new Entry(family, family + ".cl", source, sha256(source), List.copyOf(names));
    }

    private static volatile String header;

    /** The text of common.cl. */
    public static String header() {
        if (header == null) header = resource(HEADER);
        return header;
    }

    private static String resource(String file) {
        String path = "/kd4j/opencl/" + file;
        try (InputStream in = KernelSource.class.getResourceAsStream(path)) {
            if (in == null) throw new IllegalStateException("opencl: kernel source " + path + " is missing from the jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
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
