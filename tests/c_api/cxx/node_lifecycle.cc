// The C++ node of node_lifecycle.yml (test_cxx_node.py): timeouts, samples, closing
// outputs and the end of the stream, through the wrapper. Its only input, `never`, comes
// from py_waiter.py, which sends nothing and exits once it has the sample sent on `done`:
// so the first next(20ms) must time out, and after the waiter exits the stream must end.
// Outside a dataflow, dora::Node's constructor throws: the program prints what() and
// exits with 3. It prints one `lifecycle: ...` line of results.
#include <chrono>
#include <cstdio>
#include <string>

#include "dora_node_api.hpp"

using namespace std::chrono_literals;

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::optional<dora::Node> maybe_node;
  try {
    maybe_node.emplace();
  } catch (const dora::Error &e) {
    std::fprintf(stderr, "lifecycle: %s\n", e.what());
    return 3;
  }
  dora::Node node = std::move(*maybe_node);  // move-only, still the same connection

  // Nothing can arrive yet: a timeout, not the end of the stream.
  std::optional<dora::Event> early = node.next(20ms);
  bool timed_out = !early && !node.finished();

  // A filled sample with parameters of each kind.
  dora::Sample sample = node.alloc_sample(5);
  for (std::size_t i = 0; i < sample.size(); ++i) sample.data()[i] = static_cast<std::uint8_t>('a' + i);
  std::vector<std::uint8_t> blob = {1, 2, 255};
  node.send_sample("done", std::move(sample),
                   dora::Params()
                       .set("timed_out", timed_out)
                       .set("restarts", node.restart_count())
                       .set_bytes("blob", blob));

  // A sample on an unknown output: dora::Error, and the sample is consumed all the same.
  bool sample_error = false;
  dora::Sample stray = node.alloc_sample(8);
  try {
    node.send_sample("nope", std::move(stray));
  } catch (const dora::Error &e) {
    sample_error = e.detail().find("nope") != std::string::npos;
  }
  bool consumed = stray.size() == 0 && stray.c_sample() == nullptr;  // NOLINT: moved from
  // An unsent sample is freed by its destructor.
  { dora::Sample unused = node.alloc_sample(64 * 1024); }

  node.close_outputs({"done"});

  // The waiter exits after `done`: its output closes, then the stream ends.
  std::string kinds;
  for (dora::Event &event : node) {  // range-for: next() until the stream ends
    kinds += std::string(event.type_name());
    if (!event.text().empty()) kinds += ":" + std::string(event.text());  // a stop's cause
    kinds += ",";
  }
  std::printf("lifecycle: timed_out=%d sample_error=%d consumed=%d finished=%d kinds=%s\n",
              timed_out, sample_error, consumed, node.finished(), kinds.c_str());
  return 0;
}
