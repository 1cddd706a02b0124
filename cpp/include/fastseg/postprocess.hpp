// Model output -> frame-sized alpha. Everything before upsampling runs at model resolution.
#pragma once
#include <cstddef>
#include <cstdint>

#include "fastseg/image.hpp"

namespace fastseg {

// p = 1 / (1 + exp(-x))
void sigmoid(const float* x, float* out, std::size_t n);
// Two-class logits: p(person) = softmax([bg, fg])[1] = 1 / (1 + exp(bg - fg)).
void softmax2(const float* fg, const float* bg, float* out, std::size_t n);
// Exponential moving average in place: state = strength * state + (1 - strength) * current.
void temporal_ema(const float* current, float* state, std::size_t n, float strength);
// Smooth-step from lo to hi; hi <= lo gives a hard threshold at lo.
void smoothstep(const float* x, float* out, std::size_t n, float lo, float hi);
// Soft edge: two box-blur passes of the given radius (close to a Gaussian), borders replicated.
// In and out may be the same buffer.
void feather(ConstImageF32 mask, ImageF32 out, int radius);
// Bilinear upsampling of a [0, 1] mask to a uint8 alpha (0..255), pixel centres aligned; an
// axis on which the alpha is smaller than the mask is area-averaged instead.
void upsample_mask(ConstImageF32 mask, ImageU8 alpha);
// Bilinear upsampling of logits, then a hard sigmoid, clamp(0.5 + x / 4) (the sigmoid's slope at
// 0): the alpha's 0.5 contour is the zero crossing of the interpolated logits. Sharp logits
// upsampled as probabilities put it half way between two pixels of the mask whatever their
// values; this places it where the logits say. An axis on which the alpha is smaller than the
// logits area-averages the hard sigmoid's probabilities instead, as upsample_mask does.
void upsample_logits(ConstImageF32 logits, ImageU8 alpha);
// Edge-aware upsampling: a fast guided filter (He & Sun 2015) computed at mask resolution
// with the frame's luminance as guide, its coefficients upsampled bilinearly and applied to
// the full-resolution luminance, so the edge follows the frame instead of the mask's pixels.
void refine_mask(ConstImageF32 mask, ConstImageU8 frame, ImageU8 alpha, int radius, float eps);

}  // namespace fastseg
