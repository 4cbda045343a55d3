/*
 * Decoders: token strings → text (HF tokenizers decoders: ByteLevel, Metaspace, ByteFallback, Fuse, Strip,
 * Replace, Sequence). Each step maps a token list to a token list (decode_chain); the result is joined.
 */
package kd4j.tokenizers;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

sealed interface Decoder {
    List<String> decodeChain(List<String> tokens);

    /** Byte-level chars back to bytes, then UTF-8 with U+FFFD for invalid sequences (Rust from_utf8_lossy). */
    record ByteLevelDecoder() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (String t : tokens) {
                boolean all = true;
                for (int i = 0; i < t.length() && all; i++) all = ByteLevel.byteOf(t.charAt(i)) >= 0;
                if (all) for (int i = 0; i < t.length(); i++) bytes.write(ByteLevel.byteOf(t.charAt(i)));
                else bytes.writeBytes(t.getBytes(StandardCharsets.UTF_8));
            }
            return List.of(Utf8.decodeLossy(bytes.toByteArray()));
        }
    }

    /**
     * Replacement char back to space. When a prefix was added (prepend_scheme always or first), the first token
     * loses every replacement char it holds, not just a leading one (HF: "▁▁x" first decodes to "x").
     */
    record Metaspace(char replacement, boolean prefixAdded) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                String t = tokens.get(i);
                out.add(i == 0 && prefixAdded ? t.replace(String.valueOf(replacement), "") : t.replace(replacement, ' '));
            }
            return out;
        }
    }

    /** Runs of <0xXX> tokens become their UTF-8 text, or one U+FFFD per byte when invalid. */
    record ByteFallback() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            ByteArrayOutputStream pending = new ByteArrayOutputStream();
            for (String t : tokens) {
                int b = byteToken(t);
                if (b >= 0) { pending.write(b); continue; }
                flush(pending, out);
                out.add(t);
            }
            flush(pending, out);
            return out;
        }

        private static void flush(ByteArrayOutputStream pending, List<String> out) {
            if (pending.size() == 0) return;
            byte[] bytes = pending.toByteArray();
            pending.reset();
            String s = Utf8.decodeStrict(bytes);
            if (s != null) out.add(s);
            else for (int i = 0; i < bytes.length; i++) out.add("\uFFFD");
        }

        static int byteToken(String t) {
            if (t.length() != 6 || !t.startsWith("<0x") || t.charAt(5) != '>') return -1;
            int hi = Character.digit(t.charAt(3), 16), lo = Character.digit(t.charAt(4), 16);
            return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        }
    }

    record Fuse() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) { return List.of(String.join("", tokens)); }
    }

    /** Removes up to start leading and stop trailing occurrences of content from every token. */
    record Strip(char content, int start, int stop) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) {
                int[] cps = t.codePoints().toArray();
                int a = 0, b = cps.length;
                for (int i = 0; i < start && i < cps.length && cps[i] == content; i++) a = i + 1;
                for (int i = 0; i < stop; i++) {
                    int idx = cps.length - i - 1;
                    if (idx < 0 || cps[idx] != content) break;
                    b = idx;
                }
                out.add(a >= b ? "" : new String(cps, a, b - a));
            }
            return out;
        }
    }

    record Replace(String literal, Pattern regex, String content) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens)
                out.add(regex == null ? t.replace(literal, content)
                        : regex.matcher(t).replaceAll(java.util.regex.Matcher.quoteReplacement(content)));
            return out;
        }
    }

    record Sequence(List<Decoder> steps) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            for (Decoder d : steps) tokens = d.decodeChain(tokens);
            return tokens;
        }
    }
}
