/*
 * embedding.cl: token embedding lookup and its scatter-add backward. ids I32 [N]; table [V, C] F32/BF16/F16
 * (tableType 0/2/3, widened as loaded); out, dOut [N, C] F32; dTable [V, C] F32.
 * Forward: one work-item per element of out. Backward: one work-item per column c looping over the N tokens in
 * order, so repeated ids accumulate without atomics and in a deterministic order. Ids outside [0, V) write zeros
 * in the forward and are skipped in the backward (the host validates ids where it has them).
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

kernel void embedding_backward(global const float* dOut, long go, global const int* ids, long io, int N, int V,
                               int C, global float* dTable, long dto) {
    int c = get_global_id(0);
    if (c >= C) return;
    for (int r = 0; r < N; r++) {
        int id = ids[io + r];
        if (id >= 0 && id < V) dTable[dto + (long) id * C + c] += dOut[go + (long) r * C + c];
    }
}
