/*
 * One document of a corpus as read: its id (the JSONL "id" field when present, else "file:line" or the file
 * name), the file it came from and its text. The ordinal is its position in reading order over all inputs.
 * group: the record's "group" and "label" fields as "group (label)", "group" or "label" when a JSONL record has
 * them (a corpus's sub-domains, such as the e-mail corpus's ham and spam folders), else "".
 */
package kd4j.data;

public record Document(long ordinal, String id, String source, String text, String group) {
    public Document(long ordinal, String id, String source, String text) { this(ordinal, id, source, text, ""); }
}
