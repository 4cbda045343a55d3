/*
 * The integrity checks of prepared data (issue #18): every reader verifies what the manifest promises (sizes at
 * open, SHA-256 when a file is first opened), ids are range-checked once per file against the model, a Megatron
 * index must agree with its .bin, and a rerun of prepare redoes a shard that fails its checksum, bit-identical.
 */
package kd4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataIntegrityTest {
    @TempDir Path dir;
    Path corpus;

    @BeforeEach
    void writeCorpus() throws Exception {
        corpus = dir.resolve("corpus.jsonl");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 30; i++)
            s.append("{\"id\": \"d").append(i).append("\", \"text\": \"Doc ").append(i).append(" says hello to all.\"}\n");
        Files.writeString(corpus, s);
    }

    private Path prepare(String name) throws Exception {
        Path out = dir.resolve(name);
        Prepare.run(Prepare.Options.defaults(List.of(corpus), out).withSeq(15).withValidation(0.2).withThreads(1)
                .withShardSize(10, 1 << 20), new TestTokenizers.ByteTokenizer(false), l -> {});
        return out;
    }

    private static void flipByte(Path file, long at) throws Exception {
        byte[] b = Files.readAllBytes(file);
        b[(int) at] ^= 0x01;
        Files.write(file, b);
    }

    @Test
    void aFlippedByteInAnInstanceFile_isRefusedWhenTheFileIsFirstOpened() throws Exception {
        Path data = prepare("flip");
        Path inst = data.resolve("instances-train.kd4j");
        flipByte(inst, ShardWriter.HEADER_BYTES + 3);
        try (TokenDataset set = TokenDataset.open(data)) {             // same size: opening still works
            var e = assertThrows(DataFormatException.class, () -> set.instances(TokenDataset.Split.TRAIN));
            assertTrue(e.getMessage().startsWith(inst + ": SHA-256 ") && e.getMessage().contains("does not match manifest.json"),
                    e.getMessage());
            // the other split is fine and still readable
            assertTrue(set.instances(TokenDataset.Split.VALID).size() > 0);
        }
    }

    @Test
    void aTruncatedFile_isRefusedAtOpen_evenDocumentsJsonlCutAtALineEnd() throws Exception {
        Path data = prepare("cut");
        Path docs = data.resolve("documents.jsonl");
        List<String> lines = Files.readAllLines(docs);
        Files.write(docs, lines.subList(0, lines.size() - 3));             // still valid JSONL, three documents short
        var e = assertThrows(DataFormatException.class, () -> TokenDataset.open(data));
        assertTrue(e.getMessage().startsWith(docs + ": byte ") && e.getMessage().contains("manifest.json says"), e.getMessage());
        assertTrue(e.getMessage().contains("run kd4j prepare again"), e.getMessage());
    }

    @Test
    void outOfVocabularyIds_areRefusedOncePerFile_namingSequenceAndPosition() throws Exception {
        Path data = prepare("oov");
        try (TokenDataset set = TokenDataset.open(data)) {
            set.instances(TokenDataset.Split.TRAIN);
            set.requireIdsBelow(258, "the model");                      // byte tokenizer: ids 0..257
            // a model with a smaller vocabulary than the data: the first id >= 100 is named
            var e = assertThrows(DataFormatException.class, () -> set.requireIdsBelow(100, "the model (vocab_size 100)"));
            TokenSequences train = set.instances(TokenDataset.Split.TRAIN);
            long seq = -1;
            int pos = -1, id = -1;
            int[] buf;
            for (long i = 0; i < train.size() && seq < 0; i++) {
                buf = train.get(i);
                for (int k = 0; k < buf.length; k++) if (buf[k] >= 100) { seq = i; pos = k; id = buf[k]; break; }
            }
            assertEquals(data.resolve("instances-train.kd4j") + ": sequence " + seq + ", position " + pos + ": token id "
                    + id + " is outside the vocabulary [0, 100) of the model (vocab_size 100) (a corrupt file, or data "
                    + "prepared with another tokenizer)", e.getMessage());
        }
        // a document shard opened later is checked against the same limit
        try (TokenDataset set = TokenDataset.open(data)) {
            set.requireIdsBelow(100, "the model");
            var docs = set.documents();
            assertThrows(DataFormatException.class, () -> set.documentTokens(docs.getFirst()));
        }
    }

    @Test
    void prepareRerun_redoesAShardThatFailsItsChecksum_bitIdentical() throws Exception {
        Path data = prepare("redo");
        Path shard = data.resolve(Prepare.shardName(1));
        byte[] good = Files.readAllBytes(shard);
        byte[] manifest = Files.readAllBytes(data.resolve(TokenDataset.MANIFEST));
        flipByte(shard, ShardWriter.HEADER_BYTES + 5);
        List<String> log = new ArrayList<>();
        var r = Prepare.run(Prepare.Options.defaults(List.of(corpus), data).withSeq(15).withValidation(0.2).withThreads(1)
                .withShardSize(10, 1 << 20), new TestTokenizers.ByteTokenizer(false), log::add);
        assertEquals(1, r.shardsTokenized(), log.toString());
        assertEquals(2, r.shardsKept(), log.toString());
        assertTrue(log.stream().anyMatch(l -> l.startsWith("shard 1: its SHA-256 does not match the earlier manifest; "
                + "tokenizing it again")), log.toString());
        assertArrayEquals(good, Files.readAllBytes(shard));
        assertArrayEquals(manifest, Files.readAllBytes(data.resolve(TokenDataset.MANIFEST)));
    }

    @Test
    void megatronIndexThatDisagreesWithItsBin_isRefused() throws Exception {
        Path prefix = dir.resolve("m/train");
        Files.createDirectories(prefix.getParent());
        try (var w = MegatronIndexedDataset.create(prefix, MegatronIndexedDataset.UINT16)) {
            w.add(new int[] {1, 2, 3});
            w.add(new int[] {4, 5});
        }
        Path bin = dir.resolve("m/train.bin"), idx = dir.resolve("m/train.idx");
        try (var ok = MegatronIndexedDataset.open(prefix)) { assertEquals(5, ok.totalTokens()); }
        // a .bin longer than the index accounts for (e.g. the .bin of another corpus)
        byte[] b = Files.readAllBytes(bin);
        Files.write(bin, java.util.Arrays.copyOf(b, b.length + 4));
        var longer = assertThrows(DataFormatException.class, () -> MegatronIndexedDataset.open(prefix));
        assertTrue(longer.getMessage().startsWith(bin + ": byte 10: the file has 14 bytes, but train.idx accounts for 5 tokens"),
                longer.getMessage());
        Files.write(bin, b);
        // sizes that disagree with the pointers: sequence 0 claims 2 tokens, sequence 1 still starts at byte 6
        byte[] x = Files.readAllBytes(idx);
        ByteBuffer.wrap(x).order(ByteOrder.LITTLE_ENDIAN).putInt(MegatronIndexedDataset.HEADER_BYTES, 2);
        Files.write(idx, x);
        var sizes = assertThrows(DataFormatException.class, () -> MegatronIndexedDataset.open(prefix));
        assertTrue(sizes.getMessage().contains("sequence 1 starts at byte 6 of train.bin, but the sizes before it end at byte 4"),
                sizes.getMessage());
        // ids beyond the model's vocabulary are named with file, sequence and position
        ByteBuffer.wrap(x).order(ByteOrder.LITTLE_ENDIAN).putInt(MegatronIndexedDataset.HEADER_BYTES, 3);
        Files.write(idx, x);
        try (var m = MegatronIndexedDataset.open(prefix)) {
            var oov = assertThrows(DataFormatException.class, () -> m.requireIdsBelow(5, "the model"));
            assertEquals(bin + ": sequence 1, position 1: token id 5 is outside the vocabulary [0, 5) of the model "
                    + "(a corrupt file, or data prepared with another tokenizer)", oov.getMessage());
        }
    }
}
