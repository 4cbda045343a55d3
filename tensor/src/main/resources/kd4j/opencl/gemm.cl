/*
 * gemm.cl: C = alpha * op(A) op(B) + beta * C, batched over get_group_id(2), every transpose combination.
 * Dims: op(A) [M, K], op(B) [K, N], C [M, N], row-major. A is [M, K] (lda = K) or, transposed, [K, M] (lda = M);
 * B is [K, N] (ldb = N) or [N, K] (ldb = K). Batch strides in elements; a shared rank-2 B has strideB = 0.
 * B's element type is fixed at build time: B_TYPE 0 F32, 2 BF16, 3 F16, widened to fp32 as it is loaded.
 * Work-group: NT = (BM/TM) * (BN/TN) items compute one BM x BN tile of C; each item owns a TM x TN register block.
 * Per step of BK along K the group stages A and B tiles in local memory (zero-padded past the matrix edges, so any
 * M, N, K works), then every item does BK rank-1 updates of its register block from float4 reads of local memory.
 * Build options: -DBM -DBN -DBK -DTM -DTN (TM, TN multiples of 4; BM*BK and BK*BN multiples of NT).
 * beta == 0 overwrites C without reading it (its old contents, even NaN, are ignored).
 */
#define NT ((BM / TM) * (BN / TN))

#if B_TYPE == 2
#define LOAD_B(p, i) as_float(((uint) (p)[i]) << 16)    /* bf16: the upper half of an fp32 */
typedef ushort b_t;
#elif B_TYPE == 3
#define LOAD_B(p, i) vload_half((i), (p))
typedef half b_t;
#else
#define LOAD_B(p, i) ((p)[i])
typedef float b_t;
#endif

__attribute__((reqd_work_group_size(NT, 1, 1)))
kernel void gemm(int transA, int transB, int M, int N, int K, float alpha, float beta,
                 global const float* A, long ao, long strideA,
                 global const b_t* B, long bo, long strideB,
                 global float* C, long co, long strideC) {
    /* +4 pads each local row so the float4 reads stay aligned while column stores spread over banks. */
    local float As[BK][BM + 4];
    local float Bs[BK][BN + 4];
    const int tid = get_local_id(0);
    const int m0 = get_group_id(0) * BM, n0 = get_group_id(1) * BN;
    const long batch = get_group_id(2);
    A += ao + batch * strideA;
    B += bo + batch * strideB;
    C += co + batch * strideC;
    const int lda = transA ? M : K, ldb = transB ? K : N;
    const int tr = tid / (BN / TN), tc = tid % (BN / TN);

    float acc[TM][TN];
    for (int i = 0; i < TM; i++)
        for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += BK) {
        /* Stage A: consecutive items read consecutive addresses of whichever dim is contiguous in memory. */
        for (int e = tid; e < BM * BK; e += NT) {
            int m, k;
            if (transA) { m = e % BM; k = e / BM; } else { k = e % BK; m = e / BK; }
            int gm = m0 + m, gk = k0 + k;
            float v = 0.0f;
            if (gm < M && gk < K) v = transA ? A[(long) gk * lda + gm] : A[(long) gm * lda + gk];
            As[k][m] = v;
        }
        for (int e = tid; e < BK * BN; e += NT) {
            int n, k;
            if (transB) { k = e % BK; n = e / BK; } else { n = e % BN; k = e / BN; }
            int gn = n0 + n, gk = k0 + k;
            float v = 0.0f;
            if (gn < N && gk < K) v = transB ? LOAD_B(B, (long) gn * ldb + gk) : LOAD_B(B, (long) gk * ldb + gn);
            Bs[k][n] = v;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < BK; k++) {
            float a[TM], b[TN];
            for (int i = 0; i < TM; i += 4) {
                float4 v = vload4(0, &As[k][tr * TM + i]);
                a[i] = v.x; a[i + 1] = v.y; a[i + 2] = v.z; a[i + 3] = v.w;
            }
            for (int j = 0; j < TN; j += 4) {
                float4 v = vload4(0, &Bs[k][tc * TN + j]);
                b[j] = v.x; b[j + 1] = v.y; b[j + 2] = v.z; b[j + 3] = v.w;
            }
            for (int i = 0; i < TM; i++)
                for (int j = 0; j < TN; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int i = 0; i < TM; i++) {
        int gm = m0 + tr * TM + i;
        if (gm >= M) break;
        for (int j = 0; j < TN; j++) {
            int gn = n0 + tc * TN + j;
            if (gn >= N) break;
            long idx = (long) gm * N + gn;
            C[idx] = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * C[idx];
        }
    }
}
