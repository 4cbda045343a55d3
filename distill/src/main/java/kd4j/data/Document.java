/*
 * One document of a corpus as read: its id (the JSONL "id" field when present, else "file:line" or the file
 * name), the file it came from and its text. The ordinal is its position in reading order over all inputs.
 */
package kd4j.data;

public record Document(long ordinal, String id, String source, String text) {}
