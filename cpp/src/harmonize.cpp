// Reinhard et al. (2001) colour transfer, in CIELAB (D65) instead of l-alpha-beta: both are
// opponent spaces, and Lab's lightness axis matches how a person's skin reads against a room.
#include <algorithm>
#include <array>
#include <cmath>

#include "fastseg/composite.hpp"

namespace fastseg {
namespace {

constexpr int kTableSize = 4096;

struct LabTables {
    std::array<float, 256> to_linear;           // sRGB byte -> linear [0, 1]
    std::array<float, kTableSize + 1> cbrt_f;   // Lab's f(t) on t in [0, 1]
    std::array<float, kTableSize + 1> to_srgb;  // linear [0, 1] -> sRGB 0..255

    LabTables() {
        for (int i = 0; i < 256; ++i) {
            const double c = i / 255.0;
            to_linear[i] = float(c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4));
        }
        for (int i = 0; i <= kTableSize; ++i) {
            const double t = double(i) / kTableSize;
            cbrt_f[i] = float(t > 216.0 / 24389.0 ? std::cbrt(t) : (24389.0 / 27.0 * t + 16.0) / 116.0);
            to_srgb[i] = float(255.0 * (t <= 0.0031308 ? 12.92 * t : 1.055 * std::pow(t, 1 / 2.4) - 0.055));
        }
    }
};

const LabTables& tables() {
    static const LabTables t;
    return t;
}

// Linear interpolation in a table over [0, 1]; inputs outside are clamped.
inline float lookup(const std::array<float, kTableSize + 1>& table, float t) {
    const float x = std::clamp(t, 0.0f, 1.0f) * kTableSize;
    const int i = std::min(int(x), kTableSize - 1);
    return table[i] + (table[i + 1] - table[i]) * (x - float(i));
}

struct Lab {
    float L, a, b;
};

constexpr float kXn = 0.95047f, kZn = 1.08883f;

inline Lab bgr_to_lab(const std::uint8_t* px) {
    const LabTables& t = tables();
    const float B = t.to_linear[px[0]], G = t.to_linear[px[1]], R = t.to_linear[px[2]];
    const float fx = lookup(t.cbrt_f, (0.4124564f * R + 0.3575761f * G + 0.1804375f * B) / kXn);
    const float fy = lookup(t.cbrt_f, 0.2126729f * R + 0.7151522f * G + 0.0721750f * B);
    const float fz = lookup(t.cbrt_f, (0.0193339f * R + 0.1191920f * G + 0.9503041f * B) / kZn);
    return {116.0f * fy - 16.0f, 500.0f * (fx - fy), 200.0f * (fy - fz)};
}

inline float f_inverse(float f) { return f > 6.0f / 29.0f ? f * f * f : (f - 16.0f / 116.0f) * (108.0f / 841.0f); }

inline void lab_to_bgr(Lab c, std::uint8_t* px) {
    const LabTables& t = tables();
    const float fy = (c.L + 16.0f) / 116.0f;
    const float X = kXn * f_inverse(fy + c.a / 500.0f), Y = f_inverse(fy), Z = kZn * f_inverse(fy - c.b / 200.0f);
    const float R = 3.2404542f * X - 1.5371385f * Y - 0.4985314f * Z;
    const float G = -0.9692660f * X + 1.8760108f * Y + 0.0415560f * Z;
    const float B = 0.0556434f * X - 0.2040259f * Y + 1.0572252f * Z;
    px[0] = std::uint8_t(lookup(t.to_srgb, B) + 0.5f);
    px[1] = std::uint8_t(lookup(t.to_srgb, G) + 0.5f);
    px[2] = std::uint8_t(lookup(t.to_srgb, R) + 0.5f);
}

// Weighted mean and standard deviation of L, a, b over a grid of every `step`-th pixel.
struct LabStats {
    double w = 0, sum[3] = {0, 0, 0}, sq[3] = {0, 0, 0};
    void add(Lab c, double weight) {
        const double v[3] = {c.L, c.a, c.b};
        w += weight;
        for (int k = 0; k < 3; ++k) {
            sum[k] += weight * v[k];
            sq[k] += weight * v[k] * v[k];
        }
    }
    double mean(int k) const { return sum[k] / w; }
    double stdev(int k) const { return std::sqrt(std::max(sq[k] / w - mean(k) * mean(k), 1e-6)); }
};

constexpr int kStatStep = 4;  // statistics need a sample, not every pixel

}  // namespace

void harmonize(ConstImageU8 frame, ConstImageU8 alpha, ConstImageU8 background, ImageU8 out, float amount) {
    require(!frame.empty() && frame.channels == 3, "frame must be a non-empty H x W x 3 image");
    require(alpha.height == frame.height && alpha.width == frame.width, "alpha must have the frame's size");
    require(!background.empty() && background.channels == 3, "background must be a non-empty H x W x 3 image");
    require(out.height == frame.height && out.width == frame.width && out.channels == 3, "out must match the frame");
    require(amount >= 0.0f && amount <= 1.0f, "harmonize amount must be in [0, 1]");
    LabStats fg, bg;
    for (int y = 0; y < frame.height; y += kStatStep)
        for (int x = 0; x < frame.width; x += kStatStep)
            if (const int a = alpha.row(y)[x]) fg.add(bgr_to_lab(frame.row(y) + 3 * x), a / 255.0);
    for (int y = 0; y < background.height; y += kStatStep)
        for (int x = 0; x < background.width; x += kStatStep) bg.add(bgr_to_lab(background.row(y) + 3 * x), 1.0);
    float gain[3] = {1, 1, 1}, shift[3] = {0, 0, 0};
    if (fg.w > 0) {
        for (int k = 0; k < 3; ++k) {
            const double g = bg.stdev(k) / fg.stdev(k);
            gain[k] = float(1.0 + amount * (g - 1.0));
            shift[k] = float(amount * (bg.mean(k) - g * fg.mean(k)));
        }
    }
    for (int y = 0; y < frame.height; ++y) {
        const std::uint8_t* src = frame.row(y);
        const std::uint8_t* a = alpha.row(y);
        std::uint8_t* dst = out.row(y);
        for (int x = 0; x < frame.width;) {
            if (a[x] == 0) {  // invisible after compositing: copied as a run, not converted
                const int start = x;
                while (x < frame.width && a[x] == 0) ++x;
                std::copy(src + 3 * start, src + 3 * x, dst + 3 * start);
                continue;
            }
            const Lab c = bgr_to_lab(src + 3 * x);
            lab_to_bgr({c.L * gain[0] + shift[0], c.a * gain[1] + shift[1], c.b * gain[2] + shift[2]}, dst + 3 * x);
            ++x;
        }
    }
}

}  // namespace fastseg
