#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "fastseg/dispatch.hpp"

namespace py = pybind11;

void register_dispatch(py::module_& m) {
    m.def("available_isas", &fastseg::available_isas,
          "Instruction sets usable on this CPU, worst to best (the last is the default).");
    m.def("current_isa", [] { return std::string(fastseg::current_isa()); }, "The instruction set in use.");
    m.def("set_isa", &fastseg::set_isa, py::arg("name"),
          "Use one instruction set for every kernel ('auto' restores the best). Process-wide.");
}
