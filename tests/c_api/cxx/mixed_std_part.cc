// Half of a program mixing language standards (test_cxx_headers.py): this file is built as
// C++17, mixed_std_main.cc as C++20. Each uses the wrapper's inline functions, whose
// Span-returning members differ between the two modes; the program must link and each half
// must see its own, consistent, copy.
#include <vector>

#include "dora_node_api.hpp"

double sum_in_other_standard() {
  auto array = dora::ArrowData::from_values(std::vector<double>{1.0, 2.0, 4.0});
  double sum = 0;
  for (double v : array.values<double>()) sum += v;
  return sum;
}
