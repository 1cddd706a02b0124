#include <pybind11/stl.h>

#include <array>

#include "arrays.hpp"
#include "fastseg/composite.hpp"
#include "fastseg/preprocess.hpp"

namespace py = pybind11;
using namespace fastseg;
using namespace fastseg::py_arrays;

namespace {

// out's shape decides the tensor: (C, h, w) or (1, C, h, w) for NCHW, (h, w, C) or (1, h, w, C) for NHWC.
TensorSpec spec_from_out(const py::array& out, Layout layout) {
    check_dtype<float>(out, "out");
    check_layout(out, "out", true);
    const py::ssize_t nd = out.ndim();
    if (!(nd == 3 || (nd == 4 && out.shape(0) == 1)))
        throw py::value_error("out must be (C, h, w), (1, C, h, w), (h, w, C) or (1, h, w, C) with C = 3 or 4, got " +
                              shape_str(out));
    const py::ssize_t o = nd - 3;
    TensorSpec spec;
    spec.layout = layout;
    if (layout == Layout::NCHW) {
        spec.channels = int(out.shape(o));
        spec.height = int(out.shape(o + 1));
        spec.width = int(out.shape(o + 2));
    } else {
        spec.height = int(out.shape(o));
        spec.width = int(out.shape(o + 1));
        spec.channels = int(out.shape(o + 2));
    }
    if (spec.channels != 3 && spec.channels != 4)
        throw py::value_error("out must have 3 or 4 channels for layout " +
                              std::string(layout == Layout::NCHW ? "'nchw'" : "'nhwc'") + ", got shape " +
                              shape_str(out));
    return spec;
}

Layout parse_layout(const std::string& s) {
    if (s == "nchw" || s == "NCHW") return Layout::NCHW;
    if (s == "nhwc" || s == "NHWC") return Layout::NHWC;
    throw py::value_error("layout must be 'nchw' or 'nhwc', got '" + s + "'");
}

py::array preprocess_py(const py::array& frame, py::array out, std::array<float, 3> mean, std::array<float, 3> std,
                        bool swap_rb, const std::string& layout, const std::optional<py::array>& prev_mask) {
    const ConstImageU8 img = image<const std::uint8_t>(frame, "frame", 3);
    TensorSpec spec = spec_from_out(out, parse_layout(layout));
    spec.swap_rb = swap_rb;
    for (int c = 0; c < 3; ++c) {
        if (!(std[c] > 0.0f)) throw py::value_error("std must be positive, got " + std::to_string(std[c]));
        spec.mean[c] = mean[c];
        spec.std[c] = std[c];
    }
    const float* prev = nullptr;
    if (spec.channels == 4) {
        if (!prev_mask) throw py::value_error("out has 4 channels: pass prev_mask (h, w) for the 4th");
        const ConstImageF32 pm = image<const float>(*prev_mask, "prev_mask", 1);
        if (pm.height != spec.height || pm.width != spec.width)
            throw py::value_error("prev_mask must have shape (" + std::to_string(spec.height) + ", " +
                                  std::to_string(spec.width) + "), got " + shape_str(*prev_mask));
        prev = pm.data;
    } else if (prev_mask) {
        throw py::value_error("prev_mask given but out has 3 channels: make out 4-channel");
    }
    float* dst = static_cast<float*>(out.mutable_data());
    {
        py::gil_scoped_release release;
        preprocess(img, spec, dst, prev);
    }
    return out;
}

py::array resize_image_py(const py::array& src, py::array out) {
    const ConstImageU8 s = image<const std::uint8_t>(src, "src", 3);
    const ImageU8 d = image<std::uint8_t>(out, "out", 3, true);
    {
        py::gil_scoped_release release;
        resize_image(s, d);
    }
    return out;
}

}  // namespace

void register_preprocess(py::module_& m) {
    m.def("preprocess", &preprocess_py, py::arg("frame"), py::arg("out"), py::kw_only(),
          py::arg("mean") = std::array<float, 3>{0, 0, 0}, py::arg("std") = std::array<float, 3>{1, 1, 1},
          py::arg("swap_rb") = false, py::arg("layout") = "nchw", py::arg("prev_mask") = py::none(),
          "Resample a uint8 H x W x 3 frame into the float32 tensor `out` (its shape sets the model size and\n"
          "channel count), with (x - mean) / std per model channel in 0..255 units, channels reversed when\n"
          "swap_rb, and the 4th channel (if any) copied from prev_mask. Returns out.");
    m.def("resize_image", &resize_image_py, py::arg("src"), py::arg("out"),
          "Resize a uint8 H x W x 3 image into `out` (area when shrinking, bilinear when growing).");
}
