// The C++ node of node_roundtrip.yml (test_cxx_node.py), written only against the C++
// wrapper. Inputs: a timer `tick`, `bytes` (UInt8 with params) and `floats` (Arrow
// float64) from a Python node. It echoes the bytes reversed with changed params, answers
// each float array with [sum, count], and once both Python inputs have closed it sends
// a `report` (utf8 strings) that includes the dora::Error of a send on an unknown output.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "dora_node_api.hpp"

using namespace std::chrono_literals;

static std::string str(std::string_view view) { return std::string(view); }

static void on_bytes(dora::Node &node, const dora::Event &event) {
  dora::ByteSpan in = event.data();
  std::vector<std::uint8_t> reversed(in.begin(), in.end());
  std::reverse(reversed.begin(), reversed.end());
  std::int64_t seq = event.param_int("seq").value_or(-1);
  std::string label = str(event.param_string("label").value_or("?"));
  double scale = event.param_float("scale").value_or(0.0);
  bool flag = event.param_bool("flag").value_or(false);
  // Typed getters do not convert: a string is not an int.
  bool strict = !event.param_int("label").has_value() && event.param_type("seq") == dora::ParamType::Int;
  node.send_output("echo", reversed,
                   dora::Params()
                       .set("seq", seq)
                       .set("label", "cxx:" + label)
                       .set("scale", scale * 2)
                       .set("flag", !flag)
                       .set("strict", strict)
                       .set("input_ns", event.timestamp_ns()));
}

static void on_floats(dora::Node &node, const dora::Event &event) {
  dora::ArrowData array = event.arrow();
  double sum = 0;
  for (double v : array.values<double>()) sum += v;
  bool format_checked = false;
  try {
    (void)array.values<std::int32_t>();  // float64 data read as int32: refused
  } catch (const dora::Error &) {
    format_checked = true;
  }
  auto reply = dora::ArrowData::from_values(
      std::vector<double>{sum, static_cast<double>(array.length())});
  node.send_output("stats", reply,
                   dora::Params()
                       .set("seq", event.param_int("seq").value_or(-1))
                       .set("format_checked", format_checked));
}

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // dora shows node output line by line
  dora::Node node;
  std::printf("cxx: node %s started (restart %u)\n", str(node.node_id()).c_str(),
              node.restart_count());
  unsigned ticks = 0;
  int open_inputs = 2;  // bytes, floats
  while (open_inputs > 0) {
    std::optional<dora::Event> event = node.next(1000ms);
    if (!event) {
      if (node.finished()) break;
      continue;  // nothing within the timeout: ask again
    }
    if (event->type() == dora::EventType::Stop) break;
    if (event->type() == dora::EventType::InputClosed) {
      if (event->id() == "bytes" || event->id() == "floats") --open_inputs;
      continue;
    }
    if (event->type() != dora::EventType::Input) continue;
    if (event->id() == "tick") {
      ++ticks;
    } else if (event->id() == "bytes") {
      on_bytes(node, *event);
    } else if (event->id() == "floats") {
      on_floats(node, *event);
    }
  }

  std::string error = "none";
  try {
    node.send_output("no-such-output", dora::bytes("x"));
  } catch (const dora::Error &e) {
    error = e.detail();
    std::printf("cxx: caught dora::Error: %s\n", e.what());
  }
  node.log("info", "cxx: sending the report");
  std::vector<std::string> report = {
      "ticks=" + std::to_string(ticks),
      "error=" + error,
      "node=" + str(node.node_id()),
      "dataflow=" + str(node.dataflow_id()),
  };
  node.send_output("report", dora::ArrowData::from_strings(report));
  std::printf("cxx: done after %u ticks\n", ticks);
  return 0;
}
