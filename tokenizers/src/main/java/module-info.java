/* Byte-level BPE and SentencePiece-style tokenizers: HF tokenizer.json, training, encoding. */
module kd4j.tokenizers {
    requires com.fasterxml.jackson.databind;
    requires it.unimi.dsi.fastutil.core;

    exports kd4j.tokenizers;
}
