// cxx_sink: prints every summary it receives and returns once its input has closed (the
// stream ends by itself after the operator's output closes).
#include <cstdio>
#include <string>

#include "dora_node_api.hpp"

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // dora shows a node's output line by line
  dora::Node node;
  unsigned received = 0;
  while (std::optional<dora::Event> event = node.next()) {
    if (event->type() != dora::EventType::Input) continue;
    dora::ByteSpan text = event->data();  // zero-copy view, valid while `event` lives
    ++received;
    std::printf("[cxx sink] received `%s`: %.*s\n", std::string(event->id()).c_str(),
                static_cast<int>(text.size()), reinterpret_cast<const char *>(text.data()));
  }
  std::printf("[cxx sink] received %u summaries, finished\n", received);
  return 0;
}
