/*
 * copy.cl: dst = src elementwise over any strides, converting dtypes (the Backend.copy kernel).
 * Arguments: src/dst element offsets (so, dst_off); shape, srcStride, dstStride as long8 (rank <= 8; unused
 * trailing dims have size 1). Dtype codes: 0 F32, 1 F64, 2 BF16, 3 F16, 4 I32, 5 I64.
 * Work: one work-item per element of dst, 1-D over n = numel. copy_float converts through double (float where the
 * device has no fp64); copy_int converts I32 <-> I64 through long. bf16 stores round to nearest even like PyTorch.
 */
#if defined(cl_khr_fp64)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double wide_t;
#else
typedef float wide_t;
#endif

/* Element offset of linear index idx (row-major over shape) under the given strides. */
long strided_offset(long idx, long8 shape, long8 stride, int rank) {
    long s[8] = {shape.s0, shape.s1, shape.s2, shape.s3, shape.s4, shape.s5, shape.s6, shape.s7};
    long st[8] = {stride.s0, stride.s1, stride.s2, stride.s3, stride.s4, stride.s5, stride.s6, stride.s7};
    long off = 0;
    for (int d = rank - 1; d >= 0; d--) {
        long i = idx % s[d];
        idx /= s[d];
        off += i * st[d];
    }
    return off;
}

/* bf16 is the upper half of an fp32: round the lower 16 bits to nearest even; NaN stays a quiet NaN. */
ushort float_to_bf16(float f) {
    uint b = as_uint(f);
    if ((b & 0x7F800000u) == 0x7F800000u && (b & 0x007FFFFFu) != 0u) return (ushort) ((b >> 16) | 0x40u);
    b += 0x7FFFu + ((b >> 16) & 1u);
    return (ushort) (b >> 16);
}

wide_t load_float(global const uchar* p, long i, int dt) {
    switch (dt) {
        case 0: return ((global const float*) p)[i];
#if defined(cl_khr_fp64)
        case 1: return ((global const double*) p)[i];
#endif
        case 2: return as_float(((uint) ((global const ushort*) p)[i]) << 16);
        case 3: return vload_half(i, (global const half*) p);
        case 4: return ((global const int*) p)[i];
        default: return ((global const long*) p)[i];
    }
}

void store_float(global uchar* p, long i, int dt, wide_t v) {
    switch (dt) {
        case 0: ((global float*) p)[i] = (float) v; break;
#if defined(cl_khr_fp64)
        case 1: ((global double*) p)[i] = v; break;
#endif
        case 2: ((global ushort*) p)[i] = float_to_bf16((float) v); break;
        case 3: vstore_half_rte((float) v, i, (global half*) p); break;
        case 4: ((global int*) p)[i] = (int) v; break;
        default: ((global long*) p)[i] = (long) v; break;
    }
}

kernel void copy_float(global const uchar* src, long so, int srcType, global uchar* dst, long dst_off, int dstType,
                       long8 shape, long8 srcStride, long8 dstStride, int rank, long n) {
    long idx = get_global_id(0);
    if (idx >= n) return;
    wide_t v = load_float(src, so + strided_offset(idx, shape, srcStride, rank), srcType);
    store_float(dst, dst_off + strided_offset(idx, shape, dstStride, rank), dstType, v);
}

kernel void copy_int(global const uchar* src, long so, int srcType, global uchar* dst, long dst_off, int dstType,
                     long8 shape, long8 srcStride, long8 dstStride, int rank, long n) {
    long idx = get_global_id(0);
    if (idx >= n) return;
    long si = so + strided_offset(idx, shape, srcStride, rank);
    long di = dst_off + strided_offset(idx, shape, dstStride, rank);
    long v = srcType == 4 ? (long) ((global const int*) src)[si] : ((global const long*) src)[si];
    if (dstType == 4) ((global int*) dst)[di] = (int) v; else ((global long*) dst)[di] = v;
}
