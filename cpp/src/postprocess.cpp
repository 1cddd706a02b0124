#include "fastseg/postprocess.hpp"

#include <algorithm>
#include <vector>

#include "fastseg/dispatch.hpp"
#include "workspace.hpp"
#include "fastseg/preprocess.hpp"
#include "box_blur.hpp"
#include "resample.hpp"

namespace fastseg {

void sigmoid(const float* x, float* out, std::size_t n) { kernels().sigmoid_f32(x, nullptr, out, n); }

void softmax2(const float* fg, const float* bg, float* out, std::size_t n) { kernels().sigmoid_f32(fg, bg, out, n); }

void temporal_ema(const float* current, float* state, std::size_t n, float strength) {
    require(strength >= 0.0f && strength <= 1.0f, "temporal strength must be in [0, 1]");
    kernels().ema_f32(current, state, strength, n);
}

void smoothstep(const float* x, float* out, std::size_t n, float lo, float hi) {
    kernels().smoothstep_f32(x, out, lo, hi, n);
}

void feather(ConstImageF32 mask, ImageF32 out, int radius) {
    require(!mask.empty(), "mask must not be empty");
    require(out.height == mask.height && out.width == mask.width, "feather output must match the mask size");
    require(radius >= 0, "feather radius must be >= 0");
    auto& scratch = per_thread<BoxScratch>();
    if (out.data != mask.data)
        for (int y = 0; y < mask.height; ++y) std::copy(mask.row(y), mask.row(y) + mask.width, out.row(y));
    for (int pass = 0; pass < 2; ++pass) box_blur(out.data, out.height, out.width, 1, radius, scratch);
}

namespace {

struct UpsampleWorkspace {
    LerpTable xt, yt;
    ExpandedRowPair rows;
    std::vector<std::uint8_t> quant;
};

struct ShrinkLogitsWorkspace {
    std::vector<float> prob;
};

struct ResampleMaskWorkspace {
    Taps yt, xt;
    std::vector<float> row;
};

// An alpha smaller than the mask along some axis (frames smaller than the model's output):
// separable float taps, area along a shrinking axis and linear along a growing one, as
// preprocess resamples frames. Only small frames take this path, so it stays scalar.
void resample_mask(ConstImageF32 mask, ImageU8 alpha) {
    auto& ws = per_thread<ResampleMaskWorkspace>();
    const Taps& yt = resample_taps(ws.yt, mask.height, alpha.height);
    const Taps& xt = resample_taps(ws.xt, mask.width, alpha.width);
    ws.row.resize(mask.width);
    float* row = ws.row.data();
    for (int oy = 0; oy < alpha.height; ++oy) {
        const float* wy = yt.weights_of(oy);
        std::fill(row, row + mask.width, 0.0f);
        for (int t = 0; t < yt.count[oy]; ++t) {
            const float* m = mask.row(yt.first[oy] + t);
            for (int x = 0; x < mask.width; ++x) row[x] += wy[t] * m[x];
        }
        std::uint8_t* out = alpha.row(oy);
        for (int ox = 0; ox < alpha.width; ++ox) {
            const float* wx = xt.weights_of(ox);
            float sum = 0.0f;
            for (int t = 0; t < xt.count[ox]; ++t) sum += wx[t] * row[xt.first[ox] + t];
            out[ox] = unit_to_u8(sum);
        }
    }
}

// Logits are upsampled as 8-bit codes spanning [-kLogitRange, kLogitRange] (a step of 0.25),
// on the same fixed-point path as probabilities. Zero lies half way between codes 127 and 128,
// so the alpha's 0.5 contour is the zero crossing of the interpolated codes. The range is wide
// because fastseg's models export their logits scaled (x4): clamped at 8, a pixel at +40 next
// to one at -4 would move the crossing from 0.91 of the way to 0.67 (on the validation photos,
// ccp IoU +0.0032 at 8, +0.0040 at 32 over upsampled probabilities).
constexpr float kLogitRange = 32.0f;
// Codes become alpha by a hard sigmoid, clamp(0.5 + x / 4), which has the sigmoid's slope at
// 0: 16 levels a code, clamp(16 * code - 1912), so codes 127 and 128 give 120 and 136. A table
// of the sigmoid itself costs a load per pixel that no SSE2/AVX2 instruction does in parallel
// (5x upsample_mask's time at 720p); this is two multiply-adds per 16 pixels.
constexpr int kCodeGain = 16, kCodeOffset = 16 * 127 - 120;

float hard_sigmoid(float x) {
    return std::min(std::max(0.0f, 0.5f + 0.25f * x), 1.0f);  // max(0, NaN) is 0
}

std::uint8_t logit_to_code(float x) {
    return unit_to_u8((x + kLogitRange) * (0.5f / kLogitRange));  // NaN -> 0, as for masks
}

// Bilinear upsampling of a plane quantised to uint8 by `quantize`, each output row then
// stretched by `gain` (1: the codes are the alpha; see `stretch_u8`).
template <typename Quantize>
void upsample_codes(ConstImageF32 plane, ImageU8 alpha, Quantize quantize, int gain = 1, int offset = 0) {
    auto& ws = per_thread<UpsampleWorkspace>();
    const LerpTable& xt = lerp_table(ws.xt, plane.width, alpha.width, double(plane.width) / alpha.width, 1);
    const LerpTable& yt = lerp_table(ws.yt, plane.height, alpha.height, double(plane.height) / alpha.height);
    ws.rows.reset(std::size_t(alpha.width));
    ws.quant.resize(plane.width + kExpandPadding);
    const RowKernels& k = kernels();
    auto fill = [&](int sy, std::uint8_t* dst) {
        const float* m = plane.row(sy);
        for (int x = 0; x < plane.width; ++x) ws.quant[x] = quantize(m[x]);
        k.expand_u8(ws.quant.data(), xt.chunks.data(), dst, std::size_t(alpha.width));
    };
    for (int y = 0; y < alpha.height; ++y) {
        const std::uint8_t* r0 = ws.rows.get(yt.i0[y], fill);
        const std::uint8_t* r1 = ws.rows.get(yt.i1[y], fill);
        std::uint8_t* out = alpha.row(y);
        k.lerp_rows_u8(r0, r1, yt.frac[y], out, std::size_t(alpha.width));
        if (gain != 1 || offset != 0) k.stretch_u8(out, out, std::size_t(alpha.width), gain, offset);
    }
}

}  // namespace

void upsample_mask(ConstImageF32 mask, ImageU8 alpha) {
    require(!mask.empty() && !alpha.empty(), "mask and alpha must not be empty");
    if (alpha.height < mask.height || alpha.width < mask.width) return resample_mask(mask, alpha);
    upsample_codes(mask, alpha, unit_to_u8);
}

void upsample_logits(ConstImageF32 logits, ImageU8 alpha) {
    require(!logits.empty() && !alpha.empty(), "logits and alpha must not be empty");
    if (alpha.height < logits.height || alpha.width < logits.width) {
        // Shrinking averages probabilities, not logits: an area's share of person.
        std::vector<float>& prob = per_thread<ShrinkLogitsWorkspace>().prob;
        prob.resize(logits.pixels());
        float* p = prob.data();
        for (int y = 0; y < logits.height; ++y)
            for (int x = 0; x < logits.width; ++x) *p++ = hard_sigmoid(logits.row(y)[x]);
        return resample_mask(ConstImageF32(prob.data(), logits.height, logits.width), alpha);
    }
    upsample_codes(logits, alpha, logit_to_code, kCodeGain, kCodeOffset);
}

namespace {

// Bilinear resampling of low-resolution float planes to full width, row by row: the two
// source rows are blended vertically first (w values), then each output column reads its
// precomputed taps.
struct FloatLerp {
    std::vector<int> i0, i1;
    std::vector<float> frac, row;

    void build(int w, int out_w) {
        const double sx = double(w) / out_w;
        i0.resize(out_w);
        i1.resize(out_w);
        frac.resize(out_w);
        for (int x = 0; x < out_w; ++x) {
            const LinearPos p = linear_pos(x, w, sx);
            i0[x] = p.i0;
            i1[x] = p.i1;
            frac[x] = float(p.frac);
        }
        row.resize(w);
    }

    void resample(const std::vector<float>& plane, int w, const LinearPos& py, float* out) {
        const float *r0 = plane.data() + std::size_t(py.i0) * w, *r1 = plane.data() + std::size_t(py.i1) * w;
        const float fy = float(py.frac);
        float* v = row.data();
        for (int k = 0; k < w; ++k) v[k] = r0[k] + (r1[k] - r0[k]) * fy;
        const int n = int(i0.size());
        const int *a = i0.data(), *b = i1.data();
        const float* f = frac.data();
        for (int x = 0; x < n; ++x) out[x] = v[a[x]] + (v[b[x]] - v[a[x]]) * f[x];
    }
};

struct GuidedWorkspace {
    std::vector<float> rgb, I, p, Ip, II, a, b, row_a, row_b, gray;
    BoxScratch box;
    FloatLerp columns;
};

// Luminance in [0, 1] from BGR bytes or floats in 0..255.
template <class T>
inline float luma(const T* bgr) {
    return (0.114f / 255.0f) * float(bgr[0]) + (0.587f / 255.0f) * float(bgr[1]) + (0.299f / 255.0f) * float(bgr[2]);
}

void box_mean(std::vector<float>& v, int h, int w, int r, BoxScratch& s) { box_blur(v.data(), h, w, 1, r, s); }

}  // namespace

void refine_mask(ConstImageF32 mask, ConstImageU8 frame, ImageU8 alpha, int radius, float eps) {
    require(!mask.empty() && !frame.empty() && frame.channels == 3, "mask and frame must not be empty");
    require(alpha.height == frame.height && alpha.width == frame.width, "alpha must have the frame's size");
    require(radius >= 1 && eps > 0.0f, "guided filter needs radius >= 1 and eps > 0");
    auto& ws = per_thread<GuidedWorkspace>();
    const int h = mask.height, w = mask.width;
    const std::size_t n = std::size_t(h) * w;
    ws.rgb.resize(n * 3);
    for (auto* v : {&ws.I, &ws.p, &ws.Ip, &ws.II}) v->resize(n);
    resample_to_float(frame, ImageF32(ws.rgb.data(), h, w, 3));
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const std::size_t i = std::size_t(y) * w + x;
            const float I = luma(&ws.rgb[3 * i]), p = mask.row(y)[x];
            ws.I[i] = I;
            ws.p[i] = p;
            ws.Ip[i] = I * p;
            ws.II[i] = I * I;
        }
    for (auto* v : {&ws.I, &ws.p, &ws.Ip, &ws.II}) box_mean(*v, h, w, radius, ws.box);
    ws.a.resize(n);
    ws.b.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const float var = ws.II[i] - ws.I[i] * ws.I[i];
        const float cov = ws.Ip[i] - ws.I[i] * ws.p[i];
        ws.a[i] = cov / (var + eps);
        ws.b[i] = ws.p[i] - ws.a[i] * ws.I[i];
    }
    box_mean(ws.a, h, w, radius, ws.box);
    box_mean(ws.b, h, w, radius, ws.box);

    const int W = frame.width;
    ws.row_a.resize(W);
    ws.row_b.resize(W);
    ws.gray.resize(W);
    const double sy = double(h) / frame.height;
    ws.columns.build(w, W);
    const RowKernels& k = kernels();
    for (int y = 0; y < frame.height; ++y) {
        const LinearPos py = linear_pos(y, h, sy);
        ws.columns.resample(ws.a, w, py, ws.row_a.data());
        ws.columns.resample(ws.b, w, py, ws.row_b.data());
        const std::uint8_t* px = frame.row(y);
        for (int x = 0; x < W; ++x) ws.gray[x] = luma(px + 3 * x);
        k.affine_u8(ws.row_a.data(), ws.row_b.data(), ws.gray.data(), alpha.row(y), std::size_t(W));
    }
}

}  // namespace fastseg
