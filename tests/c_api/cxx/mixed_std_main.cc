// The C++20 half of the mixed-standards program (see mixed_std_part.cc).
#include <cstdio>
#include <vector>

#include "dora_node_api.hpp"

double sum_in_other_standard();

int main() {
  auto array = dora::ArrowData::from_values(std::vector<double>{8.0, 16.0});
  double sum = 0;
  for (double v : array.values<double>()) sum += v;
  std::printf("mixed standards: %g %g\n", sum_in_other_standard(), sum);
  return 0;
}
