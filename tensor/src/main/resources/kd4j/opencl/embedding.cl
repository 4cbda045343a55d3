/*
 * embedding.cl: token embedding lookup and its scatter-add backward. ids I32 [N]; table [V, C] F32/BF16/F16
 * (tableType 0/2/3, widened as loaded); out, dOut [N, C] F32; dTable [V, C] F32.
 * Forward: one work-item per element of out. Ids outside [0, V) write zeros in the forward and are skipped in the
 * backward (the host validates ids where it has them).
 * Backward, two stages, deterministic and without atomics:
 *   embedding_backward_order, one work-item per token n: its place in the stable id-sorted order of the valid
 *     tokens, #tokens with a smaller id + #earlier tokens with the same id (O(N) per item), written to order[];
 *     the first token of each id also records where its id's run starts (runStart) and its length (runLength;
 *     0 for every other token);
 *   embedding_backward, one work-item per (column c, token n): the first token of an id adds the sum of its
 *     run's dOut rows, taken in token order, to dTable[id, c]. Parallel over distinct ids x C.
 */

kernel void embedding_forward(global const int* ids, long io, global const void* table, long to, int tableType,
                              int V, int C, global float* out, long oo, long n) {
    long gid = get_global_id(0);
    if (gid >= n) return;
    long row = gid / C;
    int c = gid % C;
    int id = ids[io + row];
    out[oo + gid] = (id >= 0 && id < V) ? load_w(table, to + (long) id * C + c, tableType) : 0.0f;
}

kernel void embedding_backward_order(global const int* ids, long io, int N, int V, global int* order,
                                     global int* runStart, global int* runLength) {
    int n = get_global_id(0);
    if (n >= N) return;
    int id = ids[io + n];
    if (id < 0 || id >= V) { runLength[n] = 0; return; }
    int less = 0, before = 0, same = 0;
    for (int m = 0; m < N; m++) {
        int other = ids[io + m];
        if (other < 0 || other >= V) continue;
        less += other < id;
        if (other == id) { same++; before += m < n; }
    }
    order[less + before] = n;
    runStart[n] = less;
    runLength[n] = before == 0 ? same : 0;
}

kernel void embedding_backward(global const float* dOut, long go, global const int* ids, long io,
                               global const int* order, global const int* runStart, global const int* runLength,
                               int N, int C, global float* dTable, long dto) {
    int c = get_global_id(0), n = get_global_id(1);
    if (c >= C || n >= N) return;
    int length = runLength[n];
    if (length == 0) return;
    int start = runStart[n];
    float s = 0.0f;
    for (int j = start; j < start + length; j++) s += dOut[go + (long) order[j] * C + c];
    dTable[dto + (long) ids[io + n] * C + c] += s;
}
