#include "fastseg/composite.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "fastseg/dispatch.hpp"
#include "workspace.hpp"
#include "fastseg/preprocess.hpp"
#include "block_sums.hpp"
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

// Blend every row of `frame` over the background row bg_row(y) returns as (r0, r1, fy):
// two rows blended vertically with weight fy / 128 (fy == 0: r0 itself).
struct BackgroundRows {
    const std::uint8_t *r0, *r1;
    int fy;
};

template <class BgRow>
void blend_rows(ConstImageU8 frame, ConstImageU8 alpha, ImageU8 out, BgRow&& bg_row) {
    const RowKernels& k = kernels();
    for (int y = 0; y < frame.height; ++y) {
        const BackgroundRows bg = bg_row(y);
        k.composite_row_u8(frame.row(y), bg.r0, bg.r1, bg.fy, alpha.row(y), out.row(y), std::size_t(frame.width));
    }
}

struct ColorRow {
    std::vector<std::uint8_t> bytes;
};

struct BlurWorkspace {
    BlockSums blocks;
    std::vector<float> small;
    std::vector<std::uint8_t> small_u8;
    BoxScratch box;
    LerpTable xt, yt;
    ExpandedRowPair rows;
};

// Block means of f x f pixels (partial blocks at the right and bottom edges), as floats.
void downscale_blocks(ConstImageU8 frame, int f, float* small, BlockSums& blocks) {
    const int sw = (frame.width + f - 1) / f, last_cols = frame.width - (sw - 1) * f;
    block_sums(frame, f, f, blocks, [&](int sy, int rows, const std::uint16_t* sums) {
        float* o = small + std::size_t(sy) * sw * 3;
        const float inv = 1.0f / float(rows * f), inv_last = 1.0f / float(rows * last_cols);
        for (int i = 0; i < (sw - 1) * 3; ++i) o[i] = float(sums[i]) * inv;
        for (int i = (sw - 1) * 3; i < sw * 3; ++i) o[i] = float(sums[i]) * inv_last;
    });
}

// Rounds the blurred floats (0..255) to the bytes expand_u8 reads.
void quantize(const float* in, std::size_t n, std::uint8_t* out) {
    for (std::size_t i = 0; i < n; ++i) out[i] = std::uint8_t(in[i] + 0.5f);
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
    downscale_blocks(frame, f, ws.small.data(), ws.blocks);
    for (int pass = 0; pass < 2; ++pass) box_blur(ws.small.data(), sh, sw, 3, r, ws.box);
    ws.small_u8.resize(ws.small.size() + kExpandPadding);
    quantize(ws.small.data(), ws.small.size(), ws.small_u8.data());
    const LerpTable& xt = lerp_table(ws.xt, sw, frame.width, 1.0 / f, 3);
    const LerpTable& yt = lerp_table(ws.yt, sh, frame.height, 1.0 / f);
    ws.rows.reset(std::size_t(frame.width) * 3);
    const RowKernels& k = kernels();
    const std::size_t n = std::size_t(frame.width) * 3;
    auto fill = [&](int sy, std::uint8_t* dst) {
        k.expand_u8(ws.small_u8.data() + std::size_t(sy) * sw * 3, xt.chunks.data(), dst, n);
    };
    blend_rows(frame, alpha, out, [&](int y) {
        const std::uint8_t* r0 = ws.rows.get(yt.i0[y], fill);
        return BackgroundRows{r0, ws.rows.get(yt.i1[y], fill), yt.frac[y]};
    });
}

void composite_image(ConstImageU8 frame, ConstImageU8 alpha, ConstImageU8 background, ImageU8 out) {
    require_frame_and_alpha(frame, alpha, out.height, out.width);
    require(background.height == frame.height && background.width == frame.width && background.channels == 3,
            "background must be H x W x 3 with the frame's size");
    blend_rows(frame, alpha, out, [&](int y) { return BackgroundRows{background.row(y), background.row(y), 0}; });
}

void composite_color(ConstImageU8 frame, ConstImageU8 alpha, const std::uint8_t color[3], ImageU8 out) {
    require_frame_and_alpha(frame, alpha, out.height, out.width);
    auto& row = per_thread<ColorRow>().bytes;
    row.resize(std::size_t(frame.width) * 3);
    for (int x = 0; x < frame.width; ++x)
        for (int c = 0; c < 3; ++c) row[std::size_t(x) * 3 + c] = color[c];
    blend_rows(frame, alpha, out, [&](int) { return BackgroundRows{row.data(), row.data(), 0}; });
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
