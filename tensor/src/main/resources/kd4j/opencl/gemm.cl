/*
 * gemm.cl: C = alpha * op(A) op(B) + beta * C, batched over get_group_id(2).
 * Dims: op(A) [M, K], op(B) [K, N], C [M, N], row-major. A is [M, K] (lda = K) or, transposed, [K, M] (lda = M);
 * B is [K, N] (ldb = N) or [N, K] (ldb = K). Batch strides in elements; a shared rank-2 B has strideB = 0.
 * Build options fix everything the inner loops depend on, so they hold no runtime branch:
 *   TRANS_A, TRANS_B (0/1): one kernel binary per transpose combination, chosen by the host;
 *   A_TYPE 0 F32, 2 BF16, 3 F16: A's element type (BF16 in mixed-precision runs), widened as it is loaded;
 *   B_TYPE 0 F32, 2 BF16, 3 F16: B's element type, widened to fp32 as it is loaded;
 * A product of two bf16 values is exact in fp32 (8 + 8 significant bits), so with bf16 inputs every fma adds an
 * exact product to the fp32 accumulator: the result is the fp32-accumulated GEMM of the bf16 values.
 *   BM, BN, BK, TM, TN: a work-group of NT = (BM/TM) * (BN/TN) items computes one BM x BN tile of C, each item a
 *   TM x TN register block (TM, TN multiples of 4; BM*BK/4 and BK*BN/4 multiples of NT).
 * Per BK step the group stages the A tile (as [BK][BM]) and the B tile (as [BK][BN]) in local memory, double
 * buffered: the next step's tiles are read from global memory into registers (4 elements per load, float4 when the
 * host says the rows are 16-byte aligned and the tile lies inside the matrix; guarded scalar loads at the edges,
 * zero-padded, so any M, N, K works) while the current tiles are multiplied, then stored to the other buffer;
 * one barrier per step. An item's rows (and columns) are TM/4 (TN/4) groups of 4 spread BM/TM*4 apart, so the
 * float4 reads of a warp from local memory are contiguous and free of bank conflicts.
 * beta == 0 overwrites C without reading it (its old contents, even NaN, are ignored).
 *
 * With -DMMA=1 the file builds gemm_mma instead (after the plain kernel, below): the tensor-core variant for BF16
 * A and B on NVIDIA sm_80+ (GemmPath.TENSOR_CORE), same arguments and result contract.
 */
#if !MMA
#define NT ((BM / TM) * (BN / TN))
#define RM (BM / TM)            /* items along M */
#define RN (BN / TN)            /* items along N */
#define LA (BM * BK / 4 / NT)   /* 4-element loads of A per item per step */
#define LB (BK * BN / 4 / NT)
#define PAD 4

#ifndef A_TYPE
#define A_TYPE 0
#endif
#if A_TYPE == 2
typedef ushort a_t;
#define LOAD_A1(p, i) as_float(((uint) (p)[i]) << 16)    /* bf16: the upper half of an fp32 */
inline float4 load_a4(global const ushort* p) {
    ushort4 u = *(global const ushort4*) p;
    return as_float4(convert_uint4(u) << 16);
}
#elif A_TYPE == 3
typedef half a_t;
#define LOAD_A1(p, i) vload_half((i), (p))
inline float4 load_a4(global const half* p) { return vload_half4(0, p); }
#else
typedef float a_t;
#define LOAD_A1(p, i) ((p)[i])
inline float4 load_a4(global const float* p) { return *(global const float4*) p; }
#endif

#if B_TYPE == 2
typedef ushort b_t;
#define LOAD_B1(p, i) as_float(((uint) (p)[i]) << 16)    /* bf16: the upper half of an fp32 */
inline float4 load_b4(global const ushort* p) {
    ushort4 u = *(global const ushort4*) p;
    return as_float4(convert_uint4(u) << 16);
}
#elif B_TYPE == 3
typedef half b_t;
#define LOAD_B1(p, i) vload_half((i), (p))
inline float4 load_b4(global const half* p) { return vload_half4(0, p); }
#else
typedef float b_t;
#define LOAD_B1(p, i) ((p)[i])
inline float4 load_b4(global const float* p) { return *(global const float4*) p; }
#endif

__attribute__((reqd_work_group_size(NT, 1, 1)))
kernel void gemm(int M, int N, int K, float alpha, float beta,
                 global const a_t* A, long ao, long strideA,
                 global const b_t* B, long bo, long strideB,
                 global float* C, long co, long strideC, int vecA, int vecB, int vecC) {
    local float As[2][BK][BM + PAD] __attribute__((aligned(16)));
    local float Bs[2][BK][BN + PAD] __attribute__((aligned(16)));
    const int tid = get_local_id(0);
    const int m0 = get_group_id(0) * BM, n0 = get_group_id(1) * BN;
    const long batch = get_group_id(2);
    A += ao + batch * strideA;
    B += bo + batch * strideB;
    C += co + batch * strideC;
    const int tr = tid / RN, tc = tid % RN;
    const bool fullM = m0 + BM <= M, fullN = n0 + BN <= N;

    float4 ra[LA], rb[LB];
    float acc[TM][TN];
    for (int i = 0; i < TM; i++)
        for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

/* Reads the tiles at k0 into ra, rb. */
#if TRANS_A
#define A_ROWS BK
#define A_COLS (BM / 4)     /* A^T tile: BK rows of BM contiguous elements (along m) */
#define A_IDX(r, c) ((long) (k0 + (r)) * M + m0 + (c))
#define A_OK(r, c) (k0 + (r) < K && m0 + (c) < M)
#define A_FULL (fullM && k0 + BK <= K)
#else
#define A_ROWS BM
#define A_COLS (BK / 4)     /* BM rows of BK contiguous elements (along k) */
#define A_IDX(r, c) ((long) (m0 + (r)) * K + k0 + (c))
#define A_OK(r, c) (m0 + (r) < M && k0 + (c) < K)
#define A_FULL (fullM && k0 + BK <= K)
#endif
#if TRANS_B
#define B_COLS (BK / 4)     /* B^T tile: BN rows of BK contiguous elements (along k) */
#define B_IDX(r, c) ((long) (n0 + (r)) * K + k0 + (c))
#define B_OK(r, c) (n0 + (r) < N && k0 + (c) < K)
#else
#define B_COLS (BN / 4)     /* BK rows of BN contiguous elements (along n) */
#define B_IDX(r, c) ((long) (k0 + (r)) * N + n0 + (c))
#define B_OK(r, c) (k0 + (r) < K && n0 + (c) < N)
#endif
#define B_FULL (fullN && k0 + BK <= K)

#define LOAD_TILES(kt) {                                                                        \
        const int k0 = (kt);                                                                    \
        if (vecA && A_FULL) {                                                                   \
            for (int l = 0; l < LA; l++) {                                                      \
                int e = tid + l * NT, r = e / A_COLS, c = (e % A_COLS) * 4;                     \
                ra[l] = load_a4(A + A_IDX(r, c));                                               \
            }                                                                                   \
        } else {                                                                                \
            for (int l = 0; l < LA; l++) {                                                      \
                int e = tid + l * NT, r = e / A_COLS, c = (e % A_COLS) * 4;                     \
                float4 v;                                                                       \
                v.x = A_OK(r, c) ? LOAD_A1(A, A_IDX(r, c)) : 0.0f;                              \
                v.y = A_OK(r, c + 1) ? LOAD_A1(A, A_IDX(r, c + 1)) : 0.0f;                      \
                v.z = A_OK(r, c + 2) ? LOAD_A1(A, A_IDX(r, c + 2)) : 0.0f;                      \
                v.w = A_OK(r, c + 3) ? LOAD_A1(A, A_IDX(r, c + 3)) : 0.0f;                      \
                ra[l] = v;                                                                      \
            }                                                                                   \
        }                                                                                       \
        if (vecB && B_FULL) {                                                                   \
            for (int l = 0; l < LB; l++) {                                                      \
                int e = tid + l * NT, r = e / B_COLS, c = (e % B_COLS) * 4;                     \
                rb[l] = load_b4(B + B_IDX(r, c));                                               \
            }                                                                                   \
        } else {                                                                                \
            for (int l = 0; l < LB; l++) {                                                      \
                int e = tid + l * NT, r = e / B_COLS, c = (e % B_COLS) * 4;                     \
                float4 v;                                                                       \
                v.x = B_OK(r, c) ? LOAD_B1(B, B_IDX(r, c)) : 0.0f;                              \
                v.y = B_OK(r, c + 1) ? LOAD_B1(B, B_IDX(r, c + 1)) : 0.0f;                      \
                v.z = B_OK(r, c + 2) ? LOAD_B1(B, B_IDX(r, c + 2)) : 0.0f;                      \
                v.w = B_OK(r, c + 3) ? LOAD_B1(B, B_IDX(r, c + 3)) : 0.0f;                      \
                rb[l] = v;                                                                      \
            }                                                                                   \
        }                                                                                       \
    }

/* Stores ra, rb into buffer buf: As[k][m], Bs[k][n]. */
#if TRANS_A
#define STORE_A(buf, l) { int e = tid + (l) * NT, r = e / A_COLS, c = (e % A_COLS) * 4;         \
        *(local float4*) &As[buf][r][c] = ra[l]; }
#else
#define STORE_A(buf, l) { int e = tid + (l) * NT, r = e / A_COLS, c = (e % A_COLS) * 4;         \
        As[buf][c][r] = ra[l].x; As[buf][c + 1][r] = ra[l].y;                                   \
        As[buf][c + 2][r] = ra[l].z; As[buf][c + 3][r] = ra[l].w; }
#endif
#if TRANS_B
#define STORE_B(buf, l) { int e = tid + (l) * NT, r = e / B_COLS, c = (e % B_COLS) * 4;         \
        Bs[buf][c][r] = rb[l].x; Bs[buf][c + 1][r] = rb[l].y;                                   \
        Bs[buf][c + 2][r] = rb[l].z; Bs[buf][c + 3][r] = rb[l].w; }
#else
#define STORE_B(buf, l) { int e = tid + (l) * NT, r = e / B_COLS, c = (e % B_COLS) * 4;         \
        *(local float4*) &Bs[buf][r][c] = rb[l]; }
#endif
#define STORE_TILES(buf) { for (int l = 0; l < LA; l++) STORE_A(buf, l); for (int l = 0; l < LB; l++) STORE_B(buf, l); }

    LOAD_TILES(0);
    STORE_TILES(0);
    barrier(CLK_LOCAL_MEM_FENCE);
    int cur = 0;
    for (int k0 = 0; k0 < K; k0 += BK) {
        const int next = k0 + BK;
        if (next < K) LOAD_TILES(next);
        #pragma unroll
        for (int k = 0; k < BK; k++) {
            float a[TM], b[TN];
            for (int i = 0; i < TM / 4; i++) {
                float4 v = *(local const float4*) &As[cur][k][i * RM * 4 + tr * 4];   /* 16-byte aligned: one 128-bit load */
                a[4 * i] = v.x; a[4 * i + 1] = v.y; a[4 * i + 2] = v.z; a[4 * i + 3] = v.w;
            }
            for (int j = 0; j < TN / 4; j++) {
                float4 v = *(local const float4*) &Bs[cur][k][j * RN * 4 + tc * 4];
                b[4 * j] = v.x; b[4 * j + 1] = v.y; b[4 * j + 2] = v.z; b[4 * j + 3] = v.w;
            }
            #pragma unroll
            for (int i = 0; i < TM; i++)
                for (int j = 0; j < TN; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        if (next < K) STORE_TILES(cur ^ 1);
        barrier(CLK_LOCAL_MEM_FENCE);
        cur ^= 1;
    }

    for (int i = 0; i < TM; i++) {
        int gm = m0 + (i / 4) * RM * 4 + tr * 4 + i % 4;
        if (gm >= M) continue;
        global float* crow = C + (long) gm * N;
        for (int j = 0; j < TN / 4; j++) {
            int gn = n0 + j * RN * 4 + tc * 4;
            float4 r = (float4) (acc[i][4 * j], acc[i][4 * j + 1], acc[i][4 * j + 2], acc[i][4 * j + 3]) * alpha;
            if (vecC && gn + 4 <= N) {
                global float4* p = (global float4*) (crow + gn);
                *p = beta == 0.0f ? r : r + beta * *p;
            } else {
                float rr[4] = {r.x, r.y, r.z, r.w};
                for (int q = 0; q < 4 && gn + q < N; q++)
                    crow[gn + q] = beta == 0.0f ? rr[q] : rr[q] + beta * crow[gn + q];
            }
        }
    }
}

/*
 * gemm_splitk_sum, the second pass of split-K (weight-gradient GEMMs whose tile grid is too small for the device):
 * P [S, M, N] holds the S slices' products (each slice of K through gemm above with alpha 1, beta 0); one work-item
 * per element e of C adds the slices in order s = 0..S-1 and writes C = alpha * sum + beta * C (beta 0: C is not
 * read). Fixed order, no atomics: reruns give the same bits.
 */
kernel void gemm_splitk_sum(global const float* P, int S, long MN, float alpha, float beta, global float* C, long co) {
    long e = get_global_id(0);
    if (e >= MN) return;
    float s = 0.0f;
    for (int i = 0; i < S; i++) s += P[i * MN + e];
    float r = s * alpha;
    C[co + e] = beta == 0.0f ? r : r + beta * C[co + e];
}
#endif  /* !MMA */

#if MMA
/*
 * gemm_mma: C = alpha * op(A) op(B) + beta * C for BF16 A and B (A_TYPE = B_TYPE = 2), fp32 accumulation, on tensor
 * cores through inline PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (PTX ISA 7.0, sm_80+). Built only
 * where GemmPath chose TENSOR_CORE (an NVIDIA device reporting compute capability >= 8.0); untested on hardware
 * until a device is lent. With -DMMA_EMULATE=1 the one asm statement is replaced by mma_emulated below, which
 * computes the same warp-level product from the fragment layouts of the PTX ISA, so PoCL tests every other line.
 *
 * Work-group: 128 work-items = 4 warps of 32 (local id 32w + lane: NVIDIA packs a 1-D group's items into warps in
 * order), one 64 x 64 tile of C per group; warp w computes the 32 x 32 quarter at rows (w / 2) * 32, columns
 * (w % 2) * 32, as 2 x 4 mma tiles of 16 x 8, accumulating 2 * 4 * 4 = 32 floats per lane. Per BK = 32 step the
 * group copies the A tile to As[m][k] and the B tile to Bs[n][k] (both k-contiguous: a fragment register is two
 * k-adjacent bf16, read as one 32-bit word), zero-padded past the matrix edges; then each warp runs 2 k16 steps of
 * 8 mma each. Rows of the local tiles are padded to 40 bf16 (20 words), so the 32 lanes' fragment reads
 * (word g * 20 + t for groupID g = lane / 4, t = lane % 4) fall in 32 different banks.
 *
 * Fragments (PTX ISA "Matrix Fragments for mma.m16n8k16 with floating point type"; g = lane >> 2, t = lane & 3;
 * in a register the lower-numbered element is the low 16 bits):
 *   A (16 x 16, row): reg 0 = A[g][2t, 2t+1], reg 1 = A[g+8][2t, 2t+1], reg 2 = A[g][2t+8, 2t+9], reg 3 = A[g+8][2t+8, 2t+9]
 *   B (16 x 8, col):  reg 0 = B[2t, 2t+1][g],  reg 1 = B[2t+8, 2t+9][g]
 *   C, D (16 x 8):    c0 = C[g][2t], c1 = C[g][2t+1], c2 = C[g+8][2t], c3 = C[g+8][2t+1]
 */
#define MBM 64
#define MBN 64
#define MBK 32
#define MKP 40                  /* padded row length of the local tiles, in bf16 */
#define MNT 128                 /* work-items per group */

#if MMA_EMULATE
/* Element (row, k) of this warp's A fragments as mma.sync sees them: the PTX layout above, inverted. */
float frag_a(local const uint* fa, int row, int k) {
    int i = (k & 1) + 2 * (row >= 8) + 4 * (k >= 8);                /* a_i: row g (+8 when bit 1), col 2t + bit 0 (+8 when bit 2) */
    uint w = fa[((row & 7) * 4 + ((k & 7) >> 1)) * 4 + (i >> 1)];  /* held by lane 4g + t, register i / 2 */
    return bf16_to_float((ushort) ((i & 1) ? w >> 16 : w & 0xFFFFu));
}

/* Element (k, n) of this warp's B fragments: b_i at row 2t + bit 0 (+8 when bit 1), column g. */
float frag_b(local const uint* fb, int k, int n) {
    int i = (k & 1) + 2 * (k >= 8);
    uint w = fb[(n * 4 + ((k & 7) >> 1)) * 2 + (i >> 1)];
    return bf16_to_float((ushort) ((i & 1) ? w >> 16 : w & 0xFFFFu));
}

/*
 * d += A B for one warp's 16 x 16 A and 16 x 8 B fragments, the way mma.sync defines it: every lane publishes its
 * registers in local memory (fa: 32 lanes x 4 words, fb: 32 x 2), then computes its own four D elements. Called
 * by every work-item of the group the same number of times (the barriers need that, as mma.sync needs the warp).
 */
void mma_emulated(float* d, const uint* a, const uint* b, int lane, local uint* fa, local uint* fb) {
    for (int r = 0; r < 4; r++) fa[lane * 4 + r] = a[r];
    for (int r = 0; r < 2; r++) fb[lane * 2 + r] = b[r];
    barrier(CLK_LOCAL_MEM_FENCE);
    int g = lane >> 2, t = lane & 3;
    for (int r = 0; r < 4; r++) {
        int row = g + 8 * (r >> 1), col = 2 * t + (r & 1);
        float s = d[r];
        for (int k = 0; k < 16; k++) s = fma(frag_a(fa, row, k), frag_b(fb, k, col), s);   /* exact bf16 products */
        d[r] = s;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}
#define MMA_16x8x16(d, a, b) mma_emulated((d), (a), (b), lane, fragA + warp * 128, fragB + warp * 64)
#else
/* d = A B + d on the tensor cores: one warp-wide m16n8k16 bf16 MMA with fp32 accumulators (PTX ISA 9.7.14.5). */
inline void mma_bf16_m16n8k16(float* d, const uint* a, const uint* b) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};"
                 : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]),
                   "f"(d[0]), "f"(d[1]), "f"(d[2]), "f"(d[3]));
}
#define MMA_16x8x16(d, a, b) mma_bf16_m16n8k16((d), (a), (b))
#endif

__attribute__((reqd_work_group_size(MNT, 1, 1)))
kernel void gemm_mma(int M, int N, int K, float alpha, float beta,
                     global const ushort* A, long ao, long strideA,
                     global const ushort* B, long bo, long strideB,
                     global float* C, long co, long strideC, int vecA, int vecB, int vecC) {
    local ushort As[MBM][MKP] __attribute__((aligned(16)));
    local ushort Bs[MBN][MKP] __attribute__((aligned(16)));
#if MMA_EMULATE
    local uint fragA[4 * 128], fragB[4 * 64];
#endif
    const int tid = get_local_id(0), warp = tid / 32, lane = tid % 32;
    const int g = lane >> 2, t = lane & 3;
    const int m0 = get_group_id(0) * MBM, n0 = get_group_id(1) * MBN;
    const int wm = (warp / 2) * 32, wn = (warp % 2) * 32;       /* this warp's quarter of the tile */
    const long batch = get_group_id(2);
    A += ao + batch * strideA;
    B += bo + batch * strideB;
    C += co + batch * strideC;

    float acc[2][4][4];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int r = 0; r < 4; r++) acc[i][j][r] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += MBK) {
        /* 64 x 32 elements of each tile, 16 per work-item; consecutive items read consecutive global addresses */
        for (int l = 0; l < MBM * MBK / MNT; l++) {
            int e = tid + l * MNT;
#if TRANS_A
            int m = e % MBM, k = e / MBM;                           /* A^T stored [K, M]: m contiguous */
            As[m][k] = (m0 + m < M && k0 + k < K) ? A[(long) (k0 + k) * M + m0 + m] : (ushort) 0;
#else
            int m = e / MBK, k = e % MBK;                           /* A stored [M, K]: k contiguous */
            As[m][k] = (m0 + m < M && k0 + k < K) ? A[(long) (m0 + m) * K + k0 + k] : (ushort) 0;
#endif
#if TRANS_B
            int n = e / MBK, kb = e % MBK;                          /* B^T stored [N, K]: k contiguous */
            Bs[n][kb] = (n0 + n < N && k0 + kb < K) ? B[(long) (n0 + n) * K + k0 + kb] : (ushort) 0;
#else
            int n = e % MBN, kb = e / MBN;                          /* B stored [K, N]: n contiguous */
            Bs[n][kb] = (n0 + n < N && k0 + kb < K) ? B[(long) (k0 + kb) * N + n0 + n] : (ushort) 0;
#endif
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < MBK; kk += 16) {
            uint a[2][4], b[4][2];
            for (int i = 0; i < 2; i++) {
                int row = wm + i * 16 + g;
                a[i][0] = *(local const uint*) &As[row][kk + 2 * t];
                a[i][1] = *(local const uint*) &As[row + 8][kk + 2 * t];
                a[i][2] = *(local const uint*) &As[row][kk + 2 * t + 8];
                a[i][3] = *(local const uint*) &As[row + 8][kk + 2 * t + 8];
            }
            for (int j = 0; j < 4; j++) {
                int col = wn + j * 8 + g;
                b[j][0] = *(local const uint*) &Bs[col][kk + 2 * t];
                b[j][1] = *(local const uint*) &Bs[col][kk + 2 * t + 8];
            }
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 4; j++) MMA_16x8x16(acc[i][j], a[i], b[j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int r = 0; r < 4; r++) {
                int gm = m0 + wm + i * 16 + g + 8 * (r >> 1), gn = n0 + wn + j * 8 + 2 * t + (r & 1);
                if (gm >= M || gn >= N) continue;
                global float* p = C + (long) gm * N + gn;
                float v = alpha * acc[i][j][r];
                *p = beta == 0.0f ? v : v + beta * *p;
            }
}
#endif  /* MMA */
