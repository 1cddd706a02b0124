#include "arrays.hpp"
#include "fastseg/postprocess.hpp"

namespace py = pybind11;
using namespace fastseg;
using namespace fastseg::py_arrays;

namespace {

// An output with the same shape as `like`, given or allocated.
py::array_t<float> same_shape_out(const std::optional<py::array>& out, const py::array& like) {
    return output<float>(out, std::vector<py::ssize_t>(like.shape(), like.shape() + like.ndim()), "out");
}

py::array sigmoid_py(const py::array& x, const std::optional<py::array>& out) {
    const float* src = flat<const float>(x, "x");
    auto dst = same_shape_out(out, x);
    float* d = dst.mutable_data();
    py::gil_scoped_release release;
    sigmoid(src, d, std::size_t(x.size()));
    return dst;
}

py::array softmax2_py(const py::array& fg, const py::array& bg, const std::optional<py::array>& out) {
    const float* f = flat<const float>(fg, "fg");
    const float* b = flat<const float>(bg, "bg");
    check_same_size(fg, "fg", bg, "bg");
    auto dst = same_shape_out(out, fg);
    float* d = dst.mutable_data();
    py::gil_scoped_release release;
    softmax2(f, b, d, std::size_t(fg.size()));
    return dst;
}

py::array temporal_ema_py(const py::array& current, py::array state, float strength) {
    const float* c = flat<const float>(current, "current");
    float* s = flat<float>(state, "state", true);
    check_same_size(current, "current", state, "state");
    if (!(strength >= 0.0f && strength <= 1.0f)) throw py::value_error("strength must be in [0, 1]");
    {
        py::gil_scoped_release release;
        temporal_ema(c, s, std::size_t(current.size()), strength);
    }
    return state;
}

py::array smoothstep_py(const py::array& x, float lo, float hi, const std::optional<py::array>& out) {
    const float* src = flat<const float>(x, "x");
    auto dst = same_shape_out(out, x);
    float* d = dst.mutable_data();
    py::gil_scoped_release release;
    smoothstep(src, d, std::size_t(x.size()), lo, hi);
    return dst;
}

py::array feather_py(const py::array& mask, int radius, const std::optional<py::array>& out) {
    const ConstImageF32 m = image<const float>(mask, "mask", 1);
    if (radius < 0) throw py::value_error("radius must be >= 0, got " + std::to_string(radius));
    auto dst = output<float>(out, {m.height, m.width}, "out");
    const ImageF32 d(dst.mutable_data(), m.height, m.width);
    py::gil_scoped_release release;
    feather(m, d, radius);
    return dst;
}

// upsample_mask and upsample_logits: a float plane, named `name` in errors, into the alpha `out`.
template <void (*Kernel)(ConstImageF32, ImageU8)>
py::array upsample_py(const py::array& plane, py::array out, const char* name) {
    const ConstImageF32 m = image<const float>(plane, name, 1);
    const ImageU8 a = image<std::uint8_t>(out, "out", 1, true);
    py::gil_scoped_release release;
    Kernel(m, a);
    return out;
}

py::array refine_mask_py(const py::array& mask, const py::array& frame, const std::optional<py::array>& out,
                         int radius, float eps) {
    const ConstImageF32 m = image<const float>(mask, "mask", 1);
    const ConstImageU8 f = image<const std::uint8_t>(frame, "frame", 3);
    if (radius < 1) throw py::value_error("radius must be >= 1, got " + std::to_string(radius));
    if (!(eps > 0.0f)) throw py::value_error("eps must be > 0");
    auto dst = output<std::uint8_t>(out, {f.height, f.width}, "out");
    const ImageU8 a(dst.mutable_data(), f.height, f.width);
    py::gil_scoped_release release;
    refine_mask(m, f, a, radius, eps);
    return dst;
}

}  // namespace

void register_postprocess(py::module_& m) {
    m.def("sigmoid", &sigmoid_py, py::arg("x"), py::arg("out") = py::none(), "out = 1 / (1 + exp(-x))");
    m.def("softmax2", &softmax2_py, py::arg("fg"), py::arg("bg"), py::arg("out") = py::none(),
          "Person probability from two-class logits: 1 / (1 + exp(bg - fg)).");
    m.def("temporal_ema", &temporal_ema_py, py::arg("current"), py::arg("state"), py::arg("strength"),
          "In place: state = strength * state + (1 - strength) * current. Returns state.");
    m.def("smoothstep", &smoothstep_py, py::arg("x"), py::arg("lo"), py::arg("hi"), py::arg("out") = py::none(),
          "Smooth-step from lo to hi; hi <= lo is a hard threshold (x >= lo -> 1).");
    m.def("feather", &feather_py, py::arg("mask"), py::arg("radius"), py::arg("out") = py::none(),
          "Two box-blur passes (close to a Gaussian) of a float32 (h, w) mask; out may be mask.");
    m.def("upsample_mask", [](const py::array& mask, py::array out) { return upsample_py<upsample_mask>(mask, out, "mask"); },
          py::arg("mask"), py::arg("out"),
          "Bilinear upsampling of a float32 [0, 1] (h, w) mask into the uint8 (H, W) alpha `out`\n"
          "(an axis where out is smaller is area-averaged).");
    m.def("upsample_logits", [](const py::array& logits, py::array out) { return upsample_py<upsample_logits>(logits, out, "logits"); },
          py::arg("logits"), py::arg("out"),
          "Bilinear upsampling of float32 (h, w) logits, then the hard sigmoid clamp(0.5 + x / 4),\n"
          "into the uint8 (H, W) alpha `out`: the 0.5 contour is the interpolated logits' zero\n"
          "crossing (a shrinking axis averages the hard sigmoid's probabilities).");
    m.def("refine_mask", &refine_mask_py, py::arg("mask"), py::arg("frame"), py::arg("out") = py::none(),
          py::arg("radius") = 2, py::arg("eps") = 1e-3f,
          "Edge-aware upsampling: fast guided filter with the frame's luminance as guide -> uint8 (H, W).");
}
