// cxx_operator: a shared-library operator loaded by dora's operator runtime. It sums each
// float64 array on input `values` (read in place through the Arrow C Data Interface), keeps
// a running total across calls (operator state lives in the object) and sends the text
// "sum N, running total T" on output `summary`.
#include <cstdio>
#include <string>

#include "dora_operator_api.hpp"

namespace op = dora::operator_api;

class Summer {
 public:
  op::Status on_event(op::Event &event, op::Sender &send) {
    if (!event.is_input() || event.input().id() != "values") {
      return op::Status::Continue;  // closed input, stop or error: nothing to do
    }
    dora::ArrowData values = event.input().arrow();  // throws unless Arrow data
    double sum = 0;
    for (double v : values.values<double>()) sum += v;  // throws unless float64
    total_ += sum;
    ++calls_;
    char text[96];
    int len = std::snprintf(text, sizeof text, "sum %g, running total %g", sum, total_);
    send.send("summary", dora::bytes(std::string_view(text, static_cast<std::size_t>(len))));
    return op::Status::Continue;
  }

  ~Summer() {
    std::printf("[cxx operator] summed %u arrays, total %g\n", calls_, total_);
    std::fflush(stdout);
  }

 private:
  double total_ = 0;
  unsigned calls_ = 0;
};

// dora_init_operator / dora_on_event / dora_drop_operator for Summer; an exception thrown
// in on_event becomes the operator's error, with its message.
DORA_OPERATOR(Summer);
