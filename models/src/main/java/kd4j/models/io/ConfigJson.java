/*
 * An HF config.json, read with typed accessors whose errors name the file and the key. Both key layouts are
 * accepted where they differ: transformers 5 (`rope_parameters`, `dtype`) and 4.x (`rope_theta` and
 * `rope_scaling` at top level, `torch_dtype`; very old files spell `rope_type` as `type`).
 */
package kd4j.models.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

public final class ConfigJson {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path file;
    private final JsonNode root;

    public ConfigJson(Path file, JsonNode root) {
        if (root == null || !root.isObject())
            throw new CheckpointFormatException(file, null, "expected a JSON object");
        this.file = file;
        this.root = root;
    }

    public static ConfigJson read(Path file) {
        if (!Files.isRegularFile(file)) throw new CheckpointFormatException(file, null, "file not found");
        try {
            return new ConfigJson(file, JSON.readTree(file.toFile()));
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            throw new CheckpointFormatException(file, loc == null ? null : "line " + loc.getLineNr() + ", column "
                    + loc.getColumnNr(), "is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** A config from a JSON string (tests, the bench command's inline configs). */
    public static ConfigJson parse(String json, Path nameForErrors) {
        try {
            return new ConfigJson(nameForErrors, JSON.readTree(json));
        } catch (JsonProcessingException e) {
            throw new CheckpointFormatException(nameForErrors, null, "is not valid JSON: " + e.getOriginalMessage());
        }
    }

    public Path file() { return file; }

    public JsonNode root() { return root; }

    public boolean has(String key) { return root.hasNonNull(key); }

    /** architectures[0]. */
    public String architecture() {
        JsonNode a = root.get("architectures");
        if (a == null || !a.isArray() || a.isEmpty() || !a.get(0).isTextual())
            throw new CheckpointFormatException(file, "\"architectures\"", "expected a non-empty array of names,"
                    + " found " + (a == null ? "nothing" : a.toString()));
        return a.get(0).asText();
    }

    public int requireInt(String key) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull())
            throw new CheckpointFormatException(file, "\"" + key + "\"", "missing (an integer is required)");
        return asInt(key, n);
    }

    public int optInt(String key, int fallback) {
        JsonNode n = root.get(key);
        return n == null || n.isNull() ? fallback : asInt(key, n);
    }

    private int asInt(String key, JsonNode n) {
        if (!n.canConvertToInt() || !n.isIntegralNumber())
            throw new CheckpointFormatException(file, "\"" + key + "\"", "expected an integer, found " + n);
        return n.asInt();
    }

    public double optDouble(String key, double fallback) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) return fallback;
        if (!n.isNumber()) throw new CheckpointFormatException(file, "\"" + key + "\"", "expected a number, found " + n);
        return n.asDouble();
    }

    public boolean optBoolean(String key, boolean fallback) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) return fallback;
        if (!n.isBoolean()) throw new CheckpointFormatException(file, "\"" + key + "\"", "expected true or false, found " + n);
        return n.asBoolean();
    }

    public String optString(String key, String fallback) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) return fallback;
        if (!n.isTextual()) throw new CheckpointFormatException(file, "\"" + key + "\"", "expected a string, found " + n);
        return n.asText();
    }

    /** A token id key that may be an integer, a list (first element used) or null (-1). */
    public int optTokenId(String key) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) return -1;
        if (n.isArray()) return n.isEmpty() ? -1 : asInt(key, n.get(0));
        return asInt(key, n);
    }

    /**
     * The RoPE parameters in one object whatever the layout: transformers 5's `rope_parameters`, else 4.x's
     * `rope_scaling` merged with the top-level `rope_theta`. `rope_type` is always set ("default" when absent;
     * the old spelling `type` is accepted).
     */
    public ConfigJson rope(double defaultTheta) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        JsonNode params = root.get("rope_parameters");
        JsonNode scaling = root.get("rope_scaling");
        if (params != null && params.isObject()) out.setAll((ObjectNode) params);
        else if (scaling != null && scaling.isObject()) out.setAll((ObjectNode) scaling);
        else if (scaling != null && !scaling.isNull())
            throw new CheckpointFormatException(file, "\"rope_scaling\"", "expected an object or null, found " + scaling);
        if (!out.has("rope_theta")) out.put("rope_theta", optDouble("rope_theta", defaultTheta));
        if (!out.hasNonNull("rope_type")) out.put("rope_type", out.hasNonNull("type") ? out.get("type").asText() : "default");
        return new ConfigJson(file, out);
    }

    /** The dtype the checkpoint declares ("float32", "bfloat16", ...), from `dtype` or `torch_dtype`. */
    public String dtype() {
        return optString("dtype", optString("torch_dtype", "float32"));
    }

    /** Writes an object node as pretty JSON (used by HfCheckpoint.save). */
    public static void write(Path file, ObjectNode node) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            JSON.writeValue(file.toFile(), node);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    public static ObjectNode newObject() { return JSON.createObjectNode(); }
}
