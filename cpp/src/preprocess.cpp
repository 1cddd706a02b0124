#include "fastseg/preprocess.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "fastseg/dispatch.hpp"
#include "workspace.hpp"
#include "block_sums.hpp"
#include "resample.hpp"

namespace fastseg {
namespace {

struct ResampleWorkspace {
    Taps ytaps, xtaps;
    std::vector<float> acc, row;
    BlockSums blocks;
};

// Shrinking by whole factors: every output is the exact mean of its block (no weights).
template <class EmitRow>
bool resample_by_blocks(ConstImageU8 frame, int out_h, int out_w, ResampleWorkspace& ws, EmitRow&& emit_row) {
    if (frame.height % out_h || frame.width % out_w) return false;
    const int fy = frame.height / out_h, fx = frame.width / out_w;
    if (!block_sums_fit(fy, fx)) return false;
    const float inv = 1.0f / float(fy * fx);
    float* row = ws.row.data();
    const std::size_t n = std::size_t(out_w) * 3;
    block_sums(frame, fy, fx, ws.blocks, [&](int oy, int, const std::uint16_t* sums) {
        for (std::size_t i = 0; i < n; ++i) row[i] = float(sums[i]) * inv;
        emit_row(oy, static_cast<const float*>(row));
    });
    return true;
}

// emit_row(oy, rgb) for every output row, rgb holding out_w interleaved 3-channel means in the
// frame's channel order. Vertical pass: the weighted sum of the source rows feeding output row
// oy, through the SIMD accumulate primitive; horizontal pass: each output's taps.
template <class EmitRow>
void resample_rows(ConstImageU8 frame, int out_h, int out_w, EmitRow&& emit_row) {
    auto& ws = per_thread<ResampleWorkspace>();
    ws.row.resize(std::size_t(out_w) * 3);
    if (resample_by_blocks(frame, out_h, out_w, ws, emit_row)) return;
    const Taps& yt = resample_taps(ws.ytaps, frame.height, out_h);
    const Taps& xt = resample_taps(ws.xtaps, frame.width, out_w);
    const std::size_t n = std::size_t(frame.width) * 3;
    ws.acc.resize(n);
    float *acc = ws.acc.data(), *row = ws.row.data();
    const RowKernels& k = kernels();
    for (int oy = 0; oy < out_h; ++oy) {
        const float* wy = yt.weights_of(oy);
        for (int t = 0; t < yt.count[oy]; ++t) k.accumulate_u8_f32(frame.row(yt.first[oy] + t), wy[t], acc, n, t == 0);
        for (int ox = 0; ox < out_w; ++ox) {
            const float* wx = xt.weights_of(ox);
            const float* p = acc + std::size_t(xt.first[ox]) * 3;
            float s[3] = {0, 0, 0};
            for (int t = 0; t < xt.count[ox]; ++t, p += 3) {
                s[0] += wx[t] * p[0];
                s[1] += wx[t] * p[1];
                s[2] += wx[t] * p[2];
            }
            std::copy(s, s + 3, row + std::size_t(ox) * 3);
        }
        emit_row(oy, static_cast<const float*>(row));
    }
}

}  // namespace

void preprocess(ConstImageU8 frame, const TensorSpec& spec, float* out, const float* prev_mask) {
    require(!frame.empty() && frame.channels == 3, "frame must be a non-empty H x W x 3 image");
    require(spec.height > 0 && spec.width > 0, "tensor size must be positive");
    require(spec.channels == 3 || (spec.channels == 4 && prev_mask), "a 4-channel tensor needs a previous mask");
    float scale[3], offset[3];
    for (int c = 0; c < 3; ++c) {
        scale[c] = 1.0f / spec.std[c];
        offset[c] = -spec.mean[c] / spec.std[c];
    }
    const int src_of[3] = {spec.swap_rb ? 2 : 0, 1, spec.swap_rb ? 0 : 2};
    const std::size_t plane = std::size_t(spec.height) * spec.width;
    const int C = spec.channels;
    const int W = spec.width;
    if (spec.layout == Layout::NCHW) {
        resample_rows(frame, spec.height, W, [&](int oy, const float* rgb) {
            for (int c = 0; c < 3; ++c) {
                float* o = out + c * plane + std::size_t(oy) * W;
                const float* s = rgb + src_of[c];
                for (int ox = 0; ox < W; ++ox) o[ox] = s[3 * ox] * scale[c] + offset[c];
            }
        });
        if (C == 4) std::memcpy(out + 3 * plane, prev_mask, plane * sizeof(float));
    } else {
        resample_rows(frame, spec.height, W, [&](int oy, const float* rgb) {
            float* o = out + std::size_t(oy) * W * C;
            for (int ox = 0; ox < W; ++ox, o += C, rgb += 3) {
                o[0] = rgb[src_of[0]] * scale[0] + offset[0];
                o[1] = rgb[1] * scale[1] + offset[1];
                o[2] = rgb[src_of[2]] * scale[2] + offset[2];
            }
            if (C == 4)
                for (int ox = 0; ox < W; ++ox) out[(std::size_t(oy) * W + ox) * C + 3] = prev_mask[std::size_t(oy) * W + ox];
        });
    }
}

void resample_to_float(ConstImageU8 frame, ImageF32 out) {
    require(!frame.empty() && frame.channels == 3, "frame must be a non-empty H x W x 3 image");
    require(!out.empty() && out.channels == 3, "output must be a non-empty h x w x 3 float image");
    resample_rows(frame, out.height, out.width,
                  [&](int oy, const float* rgb) { std::copy(rgb, rgb + std::size_t(out.width) * 3, out.row(oy)); });
}

}  // namespace fastseg
