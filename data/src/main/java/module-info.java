/* Corpora, token shards, prepared instances and the atomic-write helpers every job uses. */
module kd4j.data {
    requires transitive kd4j.tokenizers;
    requires com.fasterxml.jackson.databind;
    requires it.unimi.dsi.fastutil.core;

    exports kd4j.data;
    opens kd4j.data to com.fasterxml.jackson.databind;
}
