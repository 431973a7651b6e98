// cxx_node: on each timer tick, sends the float64 Arrow array [n, n / 2, n * n] on output
// `values`, with the tick number as parameter `seq`. After TICKS ticks it returns: its
// output closes, and the operator and the sink behind it finish too.
#include <cstdio>
#include <vector>

#include "dora_node_api.hpp"

constexpr int TICKS = 20;

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // dora shows a node's output line by line
  try {
    dora::Node node;
    int sent = 0;
    while (sent < TICKS) {
      std::optional<dora::Event> event = node.next();
      if (!event || event->type() == dora::EventType::Stop) break;
      if (event->type() != dora::EventType::Input || event->id() != "tick") continue;
      ++sent;
      double n = sent;
      auto values = dora::ArrowData::from_values(std::vector<double>{n, n / 2, n * n});
      node.send_output("values", values, dora::Params().set("seq", sent));
    }
    std::printf("[cxx node] sent %d arrays, finished\n", sent);
  } catch (const dora::Error &e) {
    // Outside a dataflow, or the daemon went away: dora_last_error() says why.
    std::fprintf(stderr, "[cxx node] %s\n", e.what());
    return 1;
  }
  return 0;
}
