// Per-element definitions shared by the scalar reference and the SIMD tails, so a tail can
// never drift from the reference it is tested against.
#pragma once
#include <algorithm>
#include <cstdint>

#include "fastseg/dispatch.hpp"

namespace fastseg {

// Bilinear weights are 7-bit (0..128): a u8 value times 128 still fits an int16.
constexpr int kLerpBits = 7;
constexpr int kLerpOne = 1 << kLerpBits;

inline std::uint8_t lerp_u8(int a, int b, int fb) {
    return std::uint8_t((a * (kLerpOne - fb) + b * fb + kLerpOne / 2) >> kLerpBits);
}

inline std::uint8_t expand_one(const std::uint8_t* src, const ExpandChunk& c, int j) {
    const std::uint8_t* s = src + c.offset;
    return std::uint8_t((s[c.idx[j]] * c.w0[j] + s[c.idx[8 + j]] * c.w1[j] + kLerpOne / 2) >> kLerpBits);
}

// Exact round(x / 255) for x in [0, 255 * 255].
inline std::uint8_t div255(unsigned x) {
    x += 128;
    return std::uint8_t((x + (x >> 8)) >> 8);
}

inline std::uint8_t blend_px(std::uint8_t fg, std::uint8_t bg, std::uint8_t a) {
    return div255(unsigned(fg) * a + unsigned(bg) * (255u - a));
}

inline float smoothstep(float x, float lo, float hi) {
    if (!(hi > lo)) return x >= lo ? 1.0f : 0.0f;
    float t = (x - lo) / (hi - lo);
    t = std::min(std::max(t, 0.0f), 1.0f);
    return t * t * (3.0f - 2.0f * t);
}

// [0, 1] -> 0..255 rounded half up, clamped; NaN maps to 0.
inline std::uint8_t unit_to_u8(float v) {
    float s = v * 255.0f + 0.5f;
    s = std::min(std::max(0.0f, s), 255.0f);  // max(0, NaN) is 0, as _mm_max_ps(s, 0) is
    return std::uint8_t(int(s));
}

}  // namespace fastseg
