// The C++ node of the mixed-languages example: inverts every byte of each frame
// (255 - b) without copying a frame in or out. The input is read where it lies, in the
// sender's shared memory (Event::data() is a view of it), and the output is written
// straight into a shared-memory sample (Node::alloc_sample), which send_sample hands to
// the receiver as is. To show it, each frame's input and output pointers are looked up
// in /proc/self/maps: both lie in memfd mappings ("/memfd:..."), dora's shared memory.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "dora_node_api.hpp"

// True when `address` lies in a memfd mapping of this process.
static bool in_memfd_mapping(const void *address) {
  const auto target = reinterpret_cast<std::uintptr_t>(address);
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("/memfd:") == std::string::npos) continue;
    std::uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream range(line);
    range >> std::hex >> begin >> dash >> end;
    if (target >= begin && target < end) return true;
  }
  return false;
}

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // dora shows a node's output line by line
  dora::Node node;
  unsigned frames = 0, shared = 0;
  while (std::optional<dora::Event> event = node.next()) {
    if (event->type() != dora::EventType::Input || event->id() != "frame") continue;
    dora::ByteSpan in = event->data();  // a view of the sender's shared memory
    dora::Sample out = node.alloc_sample(in.size());
    dora::MutableByteSpan pixels = out.data();
    for (std::size_t i = 0; i < in.size(); ++i) pixels[i] = static_cast<std::uint8_t>(255 - in[i]);

    bool zero_copy = in_memfd_mapping(in.data()) && in_memfd_mapping(pixels.data());
    shared += zero_copy ? 1 : 0;
    std::int64_t frame = event->param_int("frame").value_or(-1);
    node.send_sample("inverted", std::move(out),
                     dora::Params().set("frame", frame).set("cxx_zero_copy", zero_copy));
    ++frames;
  }
  std::printf("invert: %u frames inverted, %u of them read from and written to shared memory\n",
              frames, shared);
  return 0;
}
