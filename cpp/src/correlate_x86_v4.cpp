// Direct-convolution inner loop for this instruction set (compile options set in CMakeLists.txt).
#include "correlate_kernel.hpp"

namespace galaxyfit {
namespace detail {

void correlate_run_x86_v4(const double* src, int64_t stride, const double* kflip, int64_t ky, int64_t kx, int64_t len,
                     double* out) {
  correlate_run_impl<8>(src, stride, kflip, ky, kx, len, out);
}

}  // namespace detail
}  // namespace galaxyfit
