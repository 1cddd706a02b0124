// Scratch memory for the kernels: sized on the first frame of a given size and reused, so the
// steady state allocates nothing; one per thread, so parallel callers never share it.
#pragma once

namespace fastseg {

// Bind the result to a reference once per call: every direct use of a thread_local in a
// shared library costs a __tls_get_addr call, which adds up inside row loops.
template <class T>
T& per_thread() {
    thread_local T value;
    return value;
}

}  // namespace fastseg
