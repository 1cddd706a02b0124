// Foreground over a new background with a uint8 alpha (255 = person). Frames are H x W x 3
// uint8 in any channel order; backgrounds and colours are given in the frame's order.
#pragma once
#include <cstdint>

#include "fastseg/image.hpp"

namespace fastseg {

// Background = the frame itself, blurred: area-downscaled by an integer factor, box-blurred
// twice at low resolution, and bilinearly upscaled row by row straight into the blend.
// strength in [0, 1] sets the blur radius; 0 still softens through the downscale.
void composite_blur(ConstImageU8 frame, ConstImageU8 alpha, ImageU8 out, float strength);
// Background = an image of the frame's size (resize it once with resize_image).
void composite_image(ConstImageU8 frame, ConstImageU8 alpha, ConstImageU8 background, ImageU8 out);
// Background = one colour.
void composite_color(ConstImageU8 frame, ConstImageU8 alpha, const std::uint8_t color[3], ImageU8 out);
// H x W x 4 output: the frame's colours (reordered when swap_rb) with alpha as the 4th channel.
void composite_rgba(ConstImageU8 frame, ConstImageU8 alpha, ImageU8 out, bool swap_rb);
// Reinhard colour transfer in CIELAB: moves the person's colour mean and spread (alpha-weighted)
// toward the background's, by `amount` in [0, 1], writing the adjusted frame to `out`.
void harmonize(ConstImageU8 frame, ConstImageU8 alpha, ConstImageU8 background, ImageU8 out, float amount);
// uint8 image resize for backgrounds: area when shrinking, bilinear when growing.
void resize_image(ConstImageU8 src, ImageU8 dst);

// Downscale factor used by composite_blur for a frame (exposed for tests and references).
int blur_factor(int height, int width);
int blur_radius(float strength);

}  // namespace fastseg
