/*
 * The identity of a model directory for score manifests: its folder name and a SHA-256 over config.json and every
 * *.safetensors file (name and bytes), so scores from a retrained or different model never pass for another's.
 * Hashing reads the weights once (about a second per GB), small beside scoring them.
 */
package kd4j.distill.score;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import kd4j.data.AtomicFiles;

public final class ModelId {
    private ModelId() {}

    /** "qwen-200m sha256:0123abcd4567" (the first 12 hex digits of the digest). */
    public static String of(Path modelDir) throws IOException {
        MessageDigest md = AtomicFiles.newSha256();
        List<Path> files;
        try (var s = Files.list(modelDir)) {
            files = s.filter(p -> {
                String n = p.getFileName().toString();
                return n.equals("config.json") || n.endsWith(".safetensors");
            }).sorted().toList();
        }
        if (files.isEmpty())
            throw new ScoreFileException(modelDir + ": no config.json or *.safetensors (expected a HuggingFace model directory)");
        byte[] buf = new byte[1 << 16];
        for (Path p : files) {
            md.update(p.getFileName().toString().getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            try (InputStream in = Files.newInputStream(p)) {
                int n;
                while ((n = in.read(buf)) > 0) md.update(buf, 0, n);
            }
        }
        Path abs = modelDir.toAbsolutePath().normalize();
        String name = abs.getFileName() == null ? abs.toString() : abs.getFileName().toString();
        return name + " sha256:" + HexFormat.of().formatHex(md.digest()).substring(0, 12);
    }
}
