// Gram matrix of long rows for this instruction set (compile options set in CMakeLists.txt): 4 x 4 blocks of
// 8-double vectors, sized to the register file.
#include "gram_kernel.hpp"

namespace galaxyfit {
namespace detail {

void gram_lower_x86_v4(const double* const* rows, int64_t m, int64_t n, double* gram) {
  gram_lower_impl<8, 4, 4>(rows, m, n, gram);
}

}  // namespace detail
}  // namespace galaxyfit
