#include "fastseg/composite.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "fastseg/dispatch.hpp"
#include "workspace.hpp"
#include "fastseg/preprocess.hpp"
#include "box_blur.hpp"
#include "resample.hpp"

namespace fastseg {
namespace {

void require_frame_and_alpha(ConstImageU8 frame, ConstImageU8 alpha, int out_h, int out_w) {
    require(!frame.empty() && frame.channels == 3, "frame must be a non-empty H x W x 3 image");
    require(alpha.height == frame.height && alpha.width == frame.width && alpha.channels == 1,
            "alpha must be H x W with the frame's size");
    require(out_h == frame.height && out_w == frame.width, "out must have the frame's size");
}

// Per-row scratch shared by the blend loops: the alpha spread over 3 channels, and one
// background row.
struct RowScratch {
    std::vector<std::uint8_t> a3, bg;
    void size_for(int width) {
        a3.resize(std::size_t(width) * 3);
        bg.resize(std::size_t(width) * 3);
    }
};

// Blend every row of `frame` over the background row that `bg_row(y, scratch)` returns.
template <class BgRow>
void blend_rows(ConstImageU8 frame, ConstImageU8 alpha, ImageU8 out, RowScratch& s, BgRow&& bg_row) {
    const RowKernels& k = kernels();
    const std::size_t n = std::size_t(frame.width) * 3;
    for (int y = 0; y < frame.height; ++y) {
        k.spread_alpha3(alpha.row(y), s.a3.data(), std::size_t(frame.width));
        k.blend_u8(frame.row(y), bg_row(y), s.a3.data(), out.row(y), n);
    }
}

struct BlurWorkspace {
    RowScratch scratch;
    std::vector<std::uint16_t> acc;
    std::vector<float> small;
    std::vector<std::uint8_t> small_u8;
    BoxScratch box;
    LerpTable xt, yt;
    ExpandedRowPair rows;
};

// Block means of f x f pixels (partial blocks at the right and bottom edges), rounded to u8.
void downscale_blocks(ConstImageU8 frame, int f, float* small, int sh, int sw, std::vector<std::uint16_t>& acc) {
    const RowKernels& k = kernels();
    const std::size_t n = std::size_t(frame.width) * 3;
    acc.resize(n);
    for (int sy = 0; sy < sh; ++sy) {
        const int y0 = sy * f, rows = std::min(f, frame.height - y0);
        for (int t = 0; t < rows; ++t) k.accumulate_u8_u16(frame.row(y0 + t), acc.data(), n, t == 0);
        float* o = small + std::size_t(sy) * sw * 3;
        for (int sx = 0; sx < sw; ++sx) {
            const int x0 = sx * f, cols = std::min(f, frame.width - x0);
            unsigned s[3] = {0, 0, 0};
            for (const std::uint16_t* p = acc.data() + std::size_t(x0) * 3; p < acc.data() + std::size_t(x0 + cols) * 3; p += 3) {
                s[0] += p[0];
                s[1] += p[1];
                s[2] += p[2];
            }
            const float inv = 1.0f / float(rows * cols);
            for (int c = 0; c < 3; ++c) o[sx * 3 + c] = float(s[c]) * inv;
        }
    }
}

}  // namespace

int blur_factor(int height, int width) { return std::max(1, (std::min(height, width) + 45) / 90); }

int blur_radius(float strength) { return int(std::lround(1.0f + 5.0f * std::clamp(strength, 0.0f, 1.0f))) - 1; }

void composite_blur(ConstImageU8 frame, ConstImageU8 alpha, ImageU8 out, float strength) {
    require_frame_and_alpha(frame, alpha, out.height, out.width);
    require(strength >= 0.0f && strength <= 1.0f, "blur strength must be in [0, 1]");
    auto& ws = per_thread<BlurWorkspace>();
    const int f = blur_factor(frame.height, frame.width), r = blur_radius(strength);
    const int sh = (frame.height + f - 1) / f, sw = (frame.width + f - 1) / f;
    ws.small.resize(std::size_t(sh) * sw * 3);
    downscale_blocks(frame, f, ws.small.data(), sh, sw, ws.acc);
    for (int pass = 0; pass < 2; ++pass) box_blur(ws.small.data(), sh, sw, 3, r, ws.box);
    ws.small_u8.resize(ws.small.size() + kExpandPadding);
    for (std::size_t i = 0; i < ws.small.size(); ++i) ws.small_u8[i] = std::uint8_t(ws.small[i] + 0.5f);
    const LerpTable& xt = lerp_table(ws.xt, sw, frame.width, 1.0 / f, 3);
    const LerpTable& yt = lerp_table(ws.yt, sh, frame.height, 1.0 / f);
    ws.scratch.size_for(frame.width);
    ws.rows.reset(std::size_t(frame.width) * 3);
    const RowKernels& k = kernels();
    const std::size_t n = std::size_t(frame.width) * 3;
    auto fill = [&](int sy, std::uint8_t* dst) {
        k.expand_u8(ws.small_u8.data() + std::size_t(sy) * sw * 3, xt.chunks.data(), dst, n);
    };
    blend_rows(frame, alpha, out, ws.scratch, [&](int y) {
        const std::uint8_t* r0 = ws.rows.get(yt.i0[y], fill);
        const std::uint8_t* r1 = ws.rows.get(yt.i1[y], fill);
        k.lerp_rows_u8(r0, r1, yt.frac[y], ws.scratch.bg.data(), n);
        return ws.scratch.bg.data();
    });
}

void composite_image(ConstImageU8 frame, ConstImageU8 alpha, ConstImageU8 background, ImageU8 out) {
    require_frame_and_alpha(frame, alpha, out.height, out.width);
    require(background.height == frame.height && background.width == frame.width && background.channels == 3,
            "background must be H x W x 3 with the frame's size");
    auto& scratch = per_thread<RowScratch>();
    scratch.size_for(frame.width);
    blend_rows(frame, alpha, out, scratch, [&](int y) { return background.row(y); });
}

void composite_color(ConstImageU8 frame, ConstImageU8 alpha, const std::uint8_t color[3], ImageU8 out) {
    require_frame_and_alpha(frame, alpha, out.height, out.width);
    auto& scratch = per_thread<RowScratch>();
    scratch.size_for(frame.width);
    for (int x = 0; x < frame.width; ++x)
        for (int c = 0; c < 3; ++c) scratch.bg[std::size_t(x) * 3 + c] = color[c];
    blend_rows(frame, alpha, out, scratch, [&](int) { return scratch.bg.data(); });
}

void composite_rgba(ConstImageU8 frame, ConstImageU8 alpha, ImageU8 out, bool swap_rb) {
    require(!frame.empty() && frame.channels == 3, "frame must be a non-empty H x W x 3 image");
    require(alpha.height == frame.height && alpha.width == frame.width, "alpha must have the frame's size");
    require(out.height == frame.height && out.width == frame.width && out.channels == 4, "out must be H x W x 4");
    const RowKernels& k = kernels();
    for (int y = 0; y < frame.height; ++y)
        k.interleave_rgba(frame.row(y), alpha.row(y), out.row(y), std::size_t(frame.width), swap_rb);
}

void resize_image(ConstImageU8 src, ImageU8 dst) {
    require(!src.empty() && src.channels == 3, "source image must be a non-empty H x W x 3 image");
    require(!dst.empty() && dst.channels == 3, "destination must be a non-empty H x W x 3 image");
    auto& tmp = per_thread<std::vector<float>>();
    tmp.resize(std::size_t(dst.height) * dst.width * 3);
    resample_to_float(src, ImageF32(tmp.data(), dst.height, dst.width, 3));
    for (int y = 0; y < dst.height; ++y) {
        const float* t = tmp.data() + std::size_t(y) * dst.width * 3;
        std::uint8_t* o = dst.row(y);
        for (int i = 0; i < dst.width * 3; ++i) o[i] = std::uint8_t(std::min(255.0f, t[i] + 0.5f));
    }
}

}  // namespace fastseg
