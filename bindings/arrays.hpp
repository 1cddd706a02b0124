// Checked, zero-copy views of numpy arrays. Every failure names the argument:
// a wrong dtype is a TypeError, a wrong shape, layout or size a ValueError. Nothing is copied
// or converted silently.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "fastseg/image.hpp"

namespace fastseg::py_arrays {

namespace py = pybind11;

// Larger than any camera frame, small enough that a typo does not allocate gigabytes.
constexpr py::ssize_t kMaxSide = 16384;

inline std::string shape_str(const py::array& a) {
    std::string s = "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
    return s + (a.ndim() == 1 ? ",)" : ")");
}

template <class T>
const char* dtype_name();
template <>
inline const char* dtype_name<std::uint8_t>() { return "uint8"; }
template <>
inline const char* dtype_name<std::uint16_t>() { return "uint16"; }
template <>
inline const char* dtype_name<float>() { return "float32"; }

template <class T>
void check_dtype(const py::array& a, const char* name) {
    if (!a.dtype().equal(py::dtype::of<T>()))  // equal, not is: unpickled arrays carry their own dtype object
        throw py::type_error(std::string(name) + " must be a " + dtype_name<T>() + " array, got " +
                             std::string(py::str(a.dtype())));
}

inline void check_layout(const py::array& a, const char* name, bool writeable) {
    if (!(a.flags() & py::array::c_style))
        throw py::value_error(std::string(name) +
                              " must be C-contiguous (use numpy.ascontiguousarray); got a strided view");
    if (writeable && !a.writeable()) throw py::value_error(std::string(name) + " must be writeable");
    for (py::ssize_t i = 0; i < a.ndim(); ++i) {
        if (a.shape(i) == 0) throw py::value_error(std::string(name) + " is empty: shape " + shape_str(a));
        if (a.shape(i) > kMaxSide)
            throw py::value_error(std::string(name) + " is too large: shape " + shape_str(a) + ", at most " +
                                  std::to_string(kMaxSide) + " per side");
    }
}

// An H x W (channels == 1) or H x W x C image.
template <class T>
ImageView<T> image(const py::array& a, const char* name, int channels, bool writeable = false) {
    check_dtype<std::remove_const_t<T>>(a, name);
    const bool ok = channels == 1 ? a.ndim() == 2 : (a.ndim() == 3 && a.shape(2) == channels);
    if (!ok)
        throw py::value_error(std::string(name) + " must have shape " +
                              (channels == 1 ? "(H, W)" : "(H, W, " + std::to_string(channels) + ")") + ", got " +
                              shape_str(a));
    check_layout(a, name, writeable);
    return ImageView<T>(static_cast<T*>(const_cast<void*>(a.data())), int(a.shape(0)), int(a.shape(1)), channels);
}

// `out` given: check it has exactly `shape`; absent: allocate it.
template <class T>
py::array_t<T> output(const std::optional<py::array>& out, const std::vector<py::ssize_t>& shape, const char* name) {
    if (!out) return py::array_t<T>(shape);
    check_dtype<T>(*out, name);
    check_layout(*out, name, true);
    bool same = out->ndim() == py::ssize_t(shape.size());
    for (std::size_t i = 0; same && i < shape.size(); ++i) same = out->shape(i) == shape[i];
    if (!same) {
        std::string want = "(";
        for (std::size_t i = 0; i < shape.size(); ++i) want += (i ? ", " : "") + std::to_string(shape[i]);
        throw py::value_error(std::string(name) + " must have shape " + want + (shape.size() == 1 ? ",)" : ")") +
                              ", got " + shape_str(*out));
    }
    return py::reinterpret_borrow<py::array_t<T>>(*out);
}

// Any-shape contiguous array, as a flat span.
template <class T>
T* flat(const py::array& a, const char* name, bool writeable = false) {
    check_dtype<std::remove_const_t<T>>(a, name);
    check_layout(a, name, writeable);
    if (a.ndim() == 0) throw py::value_error(std::string(name) + " must have at least one dimension");
    return static_cast<T*>(const_cast<void*>(a.data()));
}

inline void check_same_size(const py::array& a, const char* an, const py::array& b, const char* bn) {
    if (a.size() != b.size())
        throw py::value_error(std::string(bn) + " must have as many elements as " + an + ": " + shape_str(b) +
                              " vs " + shape_str(a));
}

}  // namespace fastseg::py_arrays
