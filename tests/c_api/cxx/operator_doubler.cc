// A C++ shared-library operator for test_cxx_operator.py, written against
// dora_operator_api.hpp. `floats` (float64) comes back doubled on `doubled` (read
// zero-copy through Arrow, sent as a new Arrow array); `bytes` comes back upper-cased on
// `upper`; an input named `boom` makes on_event throw, and DOUBLER_FAIL_INIT in the
// environment makes the constructor throw: the runtime must report both.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "dora_operator_api.hpp"

namespace op = dora::operator_api;

class Doubler {
 public:
  Doubler() {
    if (std::getenv("DOUBLER_FAIL_INIT")) throw std::runtime_error("doubler: cannot start");
    std::printf("doubler: init\n");
  }
  ~Doubler() {
    std::printf("doubler: dropped after %u inputs\n", inputs_);
    std::fflush(stdout);
  }

  op::Status on_event(op::Event &event, op::Sender &send) {
    if (event.is_stop()) return op::Status::Stop;
    if (!event.is_input()) return op::Status::Continue;  // closed input or error
    const op::Input &input = event.input();
    ++inputs_;
    if (input.id() == "floats") {
      dora::ArrowData in = input.arrow();
      std::vector<double> doubled;
      for (double v : in.values<double>()) doubled.push_back(2 * v);
      send.send("doubled", dora::ArrowData::from_values(std::move(doubled)));
    } else if (input.id() == "bytes") {
      op::Bytes in = input.data();
      std::vector<std::uint8_t> upper(in.begin(), in.end());
      for (std::uint8_t &c : upper) c = static_cast<std::uint8_t>(std::toupper(c));
      send.send("upper", upper);
    } else if (input.id() == "boom") {
      throw std::runtime_error("doubler: boom on purpose");
    }
    return op::Status::Continue;
  }

 private:
  unsigned inputs_ = 0;
};

DORA_OPERATOR(Doubler);
