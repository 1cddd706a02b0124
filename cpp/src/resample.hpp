// Separable resampling tables shared by preprocessing, mask upsampling and compositing.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "fastseg/dispatch.hpp"
#include "scalar_math.hpp"

namespace fastseg {

// One output coordinate's taps: weights[k] applies to source index first + k.
// Shrinking averages the covered source interval (OpenCV's INTER_AREA); growing
// interpolates linearly between pixel centres (INTER_LINEAR, half-pixel aligned).
struct Taps {
    int src = 0, dst = 0, max_count = 0;
    std::vector<int> first, count;
    std::vector<float> weights;  // dst * max_count, zero-padded

    const float* weights_of(int o) const { return weights.data() + std::size_t(o) * max_count; }
};

inline void build_area_taps(Taps& t) {
    const double scale = double(t.src) / t.dst;
    t.max_count = int(std::ceil(scale)) + 1;
    t.weights.assign(std::size_t(t.dst) * t.max_count, 0.0f);
    for (int o = 0; o < t.dst; ++o) {
        const double lo = o * scale, hi = std::min((o + 1) * scale, double(t.src));
        const int s0 = int(std::floor(lo)), s1 = std::min(int(std::ceil(hi)), t.src);
        t.first[o] = s0;
        t.count[o] = s1 - s0;
        for (int s = s0; s < s1; ++s)
            t.weights[std::size_t(o) * t.max_count + (s - s0)] =
                float((std::min(hi, s + 1.0) - std::max(lo, double(s))) / scale);
    }
}

// Position of output o's centre in source pixels, clamped to the outermost centres.
struct LinearPos {
    int i0, i1;
    double frac;
};

inline LinearPos linear_pos(int o, int src, double scale) {
    double s = (o + 0.5) * scale - 0.5;
    if (s <= 0) return {0, 0, 0.0};
    int i0 = int(s);
    if (i0 >= src - 1) return {src - 1, src - 1, 0.0};
    return {i0, i0 + 1, s - i0};
}

inline void build_linear_taps(Taps& t) {
    const double scale = double(t.src) / t.dst;
    t.max_count = 2;
    t.weights.assign(std::size_t(t.dst) * 2, 0.0f);
    for (int o = 0; o < t.dst; ++o) {
        const LinearPos p = linear_pos(o, t.src, scale);
        t.first[o] = p.i0;
        t.count[o] = p.i1 > p.i0 ? 2 : 1;
        t.weights[2 * o] = float(1.0 - p.frac);
        t.weights[2 * o + 1] = p.i1 > p.i0 ? float(p.frac) : 0.0f;
    }
}

// Area when shrinking, linear when growing; rebuilt only when the sizes change.
inline const Taps& resample_taps(Taps& t, int src, int dst) {
    if (t.src == src && t.dst == dst) return t;
    t.src = src;
    t.dst = dst;
    t.first.assign(dst, 0);
    t.count.assign(dst, 0);
    if (src > dst)
        build_area_taps(t);
    else
        build_linear_taps(t);
    return t;
}

// Bilinear upsampling in 7-bit fixed point: output o blends source i0 and i1 with weight frac / 128.
// With channels > 0 it also holds the ExpandChunk plan for rows of that many interleaved channels.
struct LerpTable {
    int src = 0, dst = 0, channels = 0;
    double scale = 0;
    std::vector<int> i0, i1;
    std::vector<std::int16_t> frac;
    std::vector<ExpandChunk> chunks;
};

// Valid for upsampling only (dst >= src): then 8 outputs never need more than 16 source bytes.
inline void build_expand_chunks(LerpTable& t) {
    const int c = t.channels;
    const std::size_t n = std::size_t(t.dst) * c;
    t.chunks.assign((n + 7) / 8, ExpandChunk{});
    for (std::size_t k = 0; k < t.chunks.size(); ++k) {
        ExpandChunk& ch = t.chunks[k];
        ch.offset = t.i0[(8 * k) / c] * c;
        for (int j = 0; j < 8; ++j) {
            const std::size_t i = 8 * k + j;
            if (i >= n) break;  // padding lanes: index 0, weight 0
            const int o = int(i / c), cc = int(i % c);
            ch.idx[j] = std::uint8_t(t.i0[o] * c + cc - ch.offset);
            ch.idx[8 + j] = std::uint8_t(t.i1[o] * c + cc - ch.offset);
            ch.w0[j] = std::int16_t(kLerpOne - t.frac[o]);
            ch.w1[j] = t.frac[o];
        }
    }
}

inline const LerpTable& lerp_table(LerpTable& t, int src, int dst, double scale, int channels = 0) {
    if (t.src == src && t.dst == dst && t.scale == scale && t.channels == channels) return t;
    t.src = src;
    t.dst = dst;
    t.scale = scale;
    t.channels = channels;
    t.i0.resize(dst);
    t.i1.resize(dst);
    t.frac.resize(dst);
    for (int o = 0; o < dst; ++o) {
        const LinearPos p = linear_pos(o, src, scale);
        t.i0[o] = p.i0;
        t.i1[o] = p.i1;
        t.frac[o] = std::int16_t(std::lround(p.frac * kLerpOne));
    }
    if (channels > 0) build_expand_chunks(t);
    return t;
}

// Source rows handed to expand_u8 are read up to 16 bytes past a chunk offset.
constexpr std::size_t kExpandPadding = 16;

// Keeps the two expanded source rows the current output row needs; each source row is
// expanded once per frame when output rows are visited in order.
struct ExpandedRowPair {
    int key[2] = {-1, -1};
    std::vector<std::uint8_t> rows[2];

    void reset(std::size_t n) {
        key[0] = key[1] = -1;
        rows[0].resize(n);
        rows[1].resize(n);
    }

    template <class Fill>
    const std::uint8_t* get(int index, Fill&& fill) {
        for (int k = 0; k < 2; ++k)
            if (key[k] == index) return rows[k].data();
        const int victim = (key[0] == index - 1) ? 1 : 0;  // keep the row just above
        fill(index, rows[victim].data());
        key[victim] = index;
        return rows[victim].data();
    }
};

}  // namespace fastseg
