// Frame -> model tensor in one pass.
#pragma once
#include "fastseg/image.hpp"

namespace fastseg {

enum class Layout { NCHW, NHWC };

struct TensorSpec {
    int height = 0, width = 0;
    int channels = 3;  // 3, or 4 when the fourth channel carries the previous mask
    Layout layout = Layout::NCHW;
    bool swap_rb = false;     // the frame's channel order differs from the model's
    float mean[3] = {0, 0, 0};  // per model channel, in 0..255 pixel units
    float std[3] = {1, 1, 1};
};

// Resamples `frame` (H x W x 3 uint8) to spec.height x spec.width (area averaging when
// shrinking, bilinear when growing, per axis), reorders channels, normalises with
// (x - mean) / std and writes the float tensor to `out` in spec.layout. With 4 channels the
// last one is copied from `prev_mask` (spec.height x spec.width floats, row-major).
void preprocess(ConstImageU8 frame, const TensorSpec& spec, float* out, const float* prev_mask = nullptr);

// Resamples `frame` to an h x w x 3 float image in 0..255 (the first half of preprocess).
void resample_to_float(ConstImageU8 frame, ImageF32 out);

}  // namespace fastseg
