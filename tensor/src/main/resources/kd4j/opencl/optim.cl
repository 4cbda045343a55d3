/*
 * optim.cl: optimizer updates, in place, one work-item per parameter element (1-D over n). All F32, contiguous.
 * adamw_step: bias corrections bc1 = 1 - beta1^step and bc2 = 1 - beta2^step come from the host (computed once
 * per step in double). sgd_step: momentum buffer, decoupled weight decay.
 */

kernel void adamw_step(global float* p, long po, global const float* g, long go, global float* m, long mo,
                       global float* v, long vo, float lr, float beta1, float beta2, float eps, float weightDecay,
                       float bc1, float bc2, long n) {
    long i = get_global_id(0);
    if (i >= n) return;
    float gi = g[go + i];
    float mi = beta1 * m[mo + i] + (1.0f - beta1) * gi;
    float vi = beta2 * v[vo + i] + (1.0f - beta2) * gi * gi;
    m[mo + i] = mi;
    v[vo + i] = vi;
    float pi = p[po + i];
    p[po + i] = pi - lr * ((mi / bc1) / (sqrt(vi / bc2) + eps) + weightDecay * pi);
}

kernel void sgd_step(global float* p, long po, global const float* g, long go, global float* buf, long bo,
                     float lr, float momentum, float weightDecay, long n) {
    long i = get_global_id(0);
    if (i >= n) return;
    float b = momentum * buf[bo + i] + g[go + i];
    buf[bo + i] = b;
    float pi = p[po + i];
    p[po + i] = pi - lr * (b + weightDecay * pi);
}
