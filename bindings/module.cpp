// fastseg._core: the C++ kernels. The public API is the Python package that wraps it.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void register_dispatch(py::module_& m);
void register_preprocess(py::module_& m);
void register_postprocess(py::module_& m);
void register_composite(py::module_& m);
void register_bitpack(py::module_& m);
void register_bgsub(py::module_& m);

PYBIND11_MODULE(_core, m) {
    m.doc() = "fastseg C++ core: SIMD preprocessing, mask post-processing, compositing and bit-packing";
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const std::invalid_argument& e) {
            PyErr_SetString(PyExc_ValueError, e.what());
        }
    });
    register_dispatch(m);
    register_preprocess(m);
    register_postprocess(m);
    register_composite(m);
    register_bitpack(m);
    register_bgsub(m);
}
