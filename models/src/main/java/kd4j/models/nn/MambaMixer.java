/*
 * The Mamba-1 mixer (HF MambaMixer, slow path): in_proj → [u, z]; causal depthwise conv1d + SiLU on u;
 * x_proj → [dt_low, B, C]; dt = softplus(dt_proj(dt_low)); selective scan with A = -exp(A_log) and skip D;
 * y * silu(z); out_proj. Training runs the whole sequence through the conv and scan kernels; decoding runs
 * one token at a time through their step kernels with the conv window and SSM state kept in MambaState, so a
 * generated token costs O(1) whatever the length so far.
 *
 * The two halves of in_proj and the three parts of x_proj are separate GEMMs over row ranges of the one HF
 * weight (narrowed along dim 0, which keeps them contiguous), so no activation is ever split or copied.
 */
package kd4j.models.nn;

import kd4j.autograd.GradMode;
import kd4j.autograd.Parameter;
import kd4j.autograd.Var;
import kd4j.autograd.ops.ElementwiseOps;
import kd4j.autograd.ops.LinearOps;
import kd4j.autograd.ops.ScanOps;
import kd4j.autograd.ops.ShapeOps;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;

public final class MambaMixer {
    /** I = intermediate (expand * hidden), N = state size, K = conv kernel, R = dt rank. */
    public record Spec(int hidden, int intermediate, int stateSize, int convKernel, int dtRank, boolean bias,
                       boolean convBias, double initStd, double dtMin, double dtMax, double dtFloor, double dtScale) {}

    private final Spec spec;
    private final Parameter inProj, convWeight, convBias, xProj, dtProjWeight, dtProjBias, aLog, d, outProj;
    private final Parameter inProjBias, outProjBias;

    public MambaMixer(WeightSource src, String prefix, Spec s) {
        this.spec = s;
        int c = s.hidden(), i = s.intermediate(), n = s.stateSize(), k = s.convKernel(), r = s.dtRank();
        Parameter.Group decay = Parameter.Group.DECAY, none = Parameter.Group.NO_DECAY;
        inProj = src.parameter(prefix + ".in_proj.weight", Init.normal(s.initStd()), decay, true, 2 * i, c);
        inProjBias = s.bias() ? src.parameter(prefix + ".in_proj.bias", Init.zeros(), none, false, 2 * i) : null;
        double convBound = 1.0 / Math.sqrt(k);                       // PyTorch Conv1d default (fan_in = K)
        convWeight = src.parameter(prefix + ".conv1d.weight", new Init.Uniform(-convBound, convBound), decay, false,
                i, 1, k);
        convBias = s.convBias()
                ? src.parameter(prefix + ".conv1d.bias", Init.zeros(), none, false, i) : null;
        xProj = src.parameter(prefix + ".x_proj.weight", Init.normal(s.initStd()), decay, true, r + 2 * n, i);
        double dtStd = Math.pow(r, -0.5) * s.dtScale();
        dtProjWeight = src.parameter(prefix + ".dt_proj.weight", new Init.Uniform(-dtStd, dtStd), decay, true, i, r);
        dtProjBias = src.parameter(prefix + ".dt_proj.bias", new Init.MambaDtBias(s.dtMin(), s.dtMax(), s.dtFloor()),
                none, false, i);
        aLog = src.parameter(prefix + ".A_log", new Init.MambaALog(), none, false, i, n);
        d = src.parameter(prefix + ".D", Init.ones(), none, false, i);
        outProj = src.parameter(prefix + ".out_proj.weight", Init.normal(s.initStd()), decay, true, c, i);
        outProjBias = s.bias() ? src.parameter(prefix + ".out_proj.bias", Init.zeros(), none, false, c) : null;
    }

    /** x [B*T, C] → [B*T, C], whole sequences (training and scoring). */
    public Var forward(Var x, int batch, int time) {
        int i = spec.intermediate(), n = spec.stateSize(), r = spec.dtRank(), k = spec.convKernel();
        Var u = LinearOps.linear(x, rows(inProj, 0, i), rows(inProjBias, 0, i));            // [B*T, I]
        Var z = LinearOps.linear(x, rows(inProj, i, i), rows(inProjBias, i, i));            // [B*T, I]
        Var conv = ScanOps.causalConv1d(ShapeOps.reshape(u, batch, time, i),                // [B, T, I]
                ShapeOps.reshape(convWeight, i, k), convBias);
        Var uc = ElementwiseOps.silu(conv);                                                  // [B, T, I]
        Var flat = ShapeOps.reshape(uc, batch * time, i);
        Var dtLow = LinearOps.linear(flat, rows(xProj, 0, r), null);                         // [B*T, R]
        Var bMat = LinearOps.linear(flat, rows(xProj, r, n), null);                          // [B*T, N]
        Var cMat = LinearOps.linear(flat, rows(xProj, r + n, n), null);                      // [B*T, N]
        Var dt = ElementwiseOps.softplus(LinearOps.linear(dtLow, dtProjWeight, dtProjBias)); // [B*T, I]
        Var y = ScanOps.selectiveScan(uc, ShapeOps.reshape(dt, batch, time, i), aLog,       // [B, T, I]
                ShapeOps.reshape(bMat, batch, time, n), ShapeOps.reshape(cMat, batch, time, n), d);
        Var gated = ElementwiseOps.swiglu(ShapeOps.reshape(z, batch, time, i), y);          // y * silu(z)
        return LinearOps.linear(ShapeOps.reshape(gated, batch * time, i), outProj, outProjBias);
    }

    /**
     * Rows start..start+length-1 of a weight. A row range is contiguous, so without a gradient it is a free view;
     * with one it goes through ShapeOps.narrow so the gradient lands in the right rows of the HF tensor.
     */
    private static Var rows(Parameter w, int start, int length) {
        if (w == null) return null;
        if (!GradMode.isEnabled() || !w.requiresGrad()) return Var.constant(w.data().narrow(0, start, length));
        return ShapeOps.narrow(w, 0, start, length);
    }

    /** Per-layer recurrent state: the last K-1 conv inputs [B, I, K-1] and the SSM state [B, I, N]. */
    public MambaState.Layer newState(Backend be, int batch) {
        return new MambaState.Layer(be.zeros(DType.F32, batch, spec.intermediate(), spec.convKernel() - 1),
                be.zeros(DType.F32, batch, spec.intermediate(), spec.stateSize()));
    }

    /** One token per sequence: x [B, C] → [B, C], updating state in place. No tape. */
    public Tensor step(Tensor x, MambaState.Layer state) {
        int i = spec.intermediate(), n = spec.stateSize(), r = spec.dtRank(), k = spec.convKernel();
        int batch = x.dim(0);
        Backend be = x.backend();
        try (var g = GradMode.off()) {
            Var xv = Var.constant(x);
            Tensor u = LinearOps.linear(xv, rows(inProj, 0, i), rows(inProjBias, 0, i)).data();    // [B, I]
            Var z = LinearOps.linear(xv, rows(inProj, i, i), rows(inProjBias, i, i));              // [B, I]
            Tensor conv = be.empty(DType.F32, batch, i);
            be.causalConv1dStep(u, convWeight.data().reshape(i, k), convBias == null ? null : convBias.data(),
                    state.conv(), conv);
            Var uc = ElementwiseOps.silu(Var.constant(conv));                                      // [B, I]
            Var dtLow = LinearOps.linear(uc, rows(xProj, 0, r), null);
            Tensor bMat = LinearOps.linear(uc, rows(xProj, r, n), null).data();                    // [B, N]
            Tensor cMat = LinearOps.linear(uc, rows(xProj, r + n, n), null).data();
            Tensor dt = ElementwiseOps.softplus(LinearOps.linear(dtLow, dtProjWeight, dtProjBias)).data();
            Tensor y = be.empty(DType.F32, batch, i);
            be.selectiveScanStep(uc.data(), dt, aLog.data(), bMat, cMat, d.data(), state.ssm(), y);
            Var gated = ElementwiseOps.swiglu(z, Var.constant(y));
            return LinearOps.linear(gated, outProj, outProjBias).data();
        }
    }
}
