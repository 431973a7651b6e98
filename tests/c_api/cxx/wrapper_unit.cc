// Unit checks of the parts of dora_node_api.hpp that need no running dataflow: spans,
// ArrowData (building, typed reads, format checks, nulls, ownership) and Params. Uses no
// function of the C library, so it links without it. Prints "wrapper_unit: N checks
// passed" and exits 0, or names the first failed check and exits 1.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dora_node_api.hpp"

static int checks = 0;

#define CHECK(cond)                                                          \
  do {                                                                       \
    ++checks;                                                                \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "wrapper_unit: line %d: CHECK(%s) failed\n", __LINE__, #cond); \
      std::exit(1);                                                          \
    }                                                                        \
  } while (0)

// Runs `body`, which must throw `Exception` whose what() contains `needle`.
template <class Exception, class Body>
static bool throws(Body body, const std::string &needle) {
  try {
    body();
  } catch (const Exception &e) {
    if (std::string(e.what()).find(needle) != std::string::npos) return true;
    std::fprintf(stderr, "wrapper_unit: unexpected message: %s\n", e.what());
    return false;
  }
  return false;
}

// A hand-made array over static buffers, counting releases, to test reads of arrays that
// come from elsewhere (nulls, offsets, bit-packed booleans, large utf8).
static int releases = 0;
static void count_array_release(struct ArrowArray *array) {
  ++releases;
  array->release = nullptr;
}
static void count_schema_release(struct ArrowSchema *schema) {
  ++releases;
  schema->release = nullptr;
}
static dora::ArrowData foreign(const char *format, std::int64_t length, std::int64_t offset,
                               std::int64_t null_count, const void **buffers,
                               std::int64_t n_buffers) {
  struct ArrowArray array = {};
  array.length = length;
  array.offset = offset;
  array.null_count = null_count;
  array.n_buffers = n_buffers;
  array.buffers = buffers;
  array.release = &count_array_release;
  struct ArrowSchema schema = {};
  schema.format = format;
  schema.release = &count_schema_release;
  return dora::ArrowData(array, schema);
}

static void spans() {
  std::vector<std::uint8_t> bytes = {1, 2, 3, 4};
  dora::ByteSpan view = bytes;
  CHECK(view.size() == 4 && view.data() == bytes.data() && view[3] == 4);
  unsigned sum = 0;
  for (std::uint8_t b : view) sum += b;
  CHECK(sum == 10);
  CHECK(view.subspan(1, 2)[0] == 2 && view.subspan(1, 2).size() == 2);
  std::array<std::uint8_t, 3> fixed = {7, 8, 9};
  dora::MutableByteSpan mutable_view = fixed;
  mutable_view[0] = 70;
  dora::ByteSpan const_view = mutable_view;  // mutable -> const, as std::span
  CHECK(const_view[0] == 70 && fixed[0] == 70);
  dora::ByteSpan text = dora::bytes("hey");
  CHECK(text.size() == 3 && text[0] == 'h');
  CHECK(dora::ByteSpan().empty());
}

static void primitive_arrays() {
  dora::ArrowData doubles = dora::ArrowData::from_values(std::vector<double>{1.5, 2.5, -1.0});
  CHECK(doubles.valid() && doubles.length() == 3 && doubles.format() == "g");
  double total = 0;
  for (double v : doubles.values<double>()) total += v;
  CHECK(total == 3.0);
  CHECK(!doubles.is_null(0) && !doubles.is_null(2));
  CHECK(throws<dora::Error>([&] { (void)doubles.values<std::int32_t>(); },
                            "expected Arrow format `i`, got `g`"));
  CHECK(throws<dora::Error>([&] { (void)doubles.string_at(0); }, "expected a utf8 array"));
  CHECK(throws<std::out_of_range>([&] { (void)doubles.is_null(3); }, "out of range"));

  auto ints = dora::ArrowData::from_values(std::vector<std::int64_t>{-5, 6});
  CHECK(ints.format() == "l" && ints.values<std::int64_t>()[0] == -5);
  // any integer type of the right size and signedness: long long is int64 too
  CHECK(ints.values<long long>()[1] == 6);
  auto wide = dora::ArrowData::from_values(std::vector<unsigned long long>{1ULL << 63});
  CHECK(wide.format() == "L" && wide.values<std::uint64_t>()[0] == (1ULL << 63));
  auto small = dora::ArrowData::from_values(std::vector<std::uint16_t>{65535});
  CHECK(small.format() == "S" && small.values<std::uint16_t>()[0] == 65535);
  auto raw = dora::ArrowData::from_bytes(dora::bytes("ab"));
  CHECK(raw.format() == "C" && raw.values<std::uint8_t>().size() == 2);
  auto empty = dora::ArrowData::from_values(std::vector<float>{});
  CHECK(empty.length() == 0 && empty.values<float>().empty());
}

static void string_arrays() {
  std::vector<std::string> words = {"alpha", "", "gamma"};
  auto strings = dora::ArrowData::from_strings(words);
  CHECK(strings.format() == "u" && strings.length() == 3);
  CHECK(strings.string_at(0) == "alpha" && strings.string_at(1).empty());
  CHECK(strings.string_at(2) == "gamma" && strings.bytes_at(2).size() == 5);
  auto listed = dora::ArrowData::from_strings({"x", "yz"});
  CHECK(listed.string_at(1) == "yz");
  CHECK(throws<dora::Error>([&] { (void)listed.values<double>(); }, "got `u`"));
}

static void foreign_arrays() {
  // int32 [_, 20, null, 40] seen from offset 1: [20, null, 40]; validity bits 0b1011.
  static const std::int32_t values[] = {10, 20, 30, 40};
  static const std::uint8_t validity[] = {0x0b};
  const void *int_buffers[] = {validity, values};
  releases = 0;
  {
    dora::ArrowData ints = foreign("i", 3, 1, 1, int_buffers, 2);
    CHECK(ints.values<std::int32_t>().size() == 3 && ints.values<std::int32_t>()[0] == 20);
    CHECK(!ints.is_null(0) && ints.is_null(1) && !ints.is_null(2));
    dora::ArrowData moved = std::move(ints);
    CHECK(!ints.valid() && moved.valid() && releases == 0);  // NOLINT(bugprone-use-after-move)
    CHECK(throws<dora::Error>([&] { (void)ints.values<std::int32_t>(); }, "moved"));
  }
  CHECK(releases == 2);  // array and schema, once each

  // bool [true, false, true, true] packed as 0b1101.
  static const std::uint8_t bits[] = {0x0d};
  const void *bool_buffers[] = {nullptr, bits};
  dora::ArrowData flags = foreign("b", 4, 0, 0, bool_buffers, 2);
  CHECK(flags.bool_at(0) && !flags.bool_at(1) && flags.bool_at(2) && flags.bool_at(3));

  // large utf8 ["hi", "there"].
  static const std::int64_t offsets[] = {0, 2, 7};
  static const char chars[] = "hithere";
  const void *large_buffers[] = {nullptr, offsets, chars};
  dora::ArrowData large = foreign("U", 2, 0, 0, large_buffers, 3);
  CHECK(large.string_at(0) == "hi" && large.string_at(1) == "there");

  // the null type: every element is null.
  dora::ArrowData nulls = foreign("n", 2, 0, 2, nullptr, 0);
  CHECK(nulls.is_null(0) && nulls.is_null(1));

  // release_into hands the structs over: this object no longer releases them.
  releases = 0;
  dora::ArrowData given = foreign("i", 1, 0, 0, int_buffers, 2);
  struct ArrowArray array;
  struct ArrowSchema schema;
  given.release_into(&array, &schema);
  CHECK(!given.valid() && releases == 0 && array.release == &count_array_release);
  array.release(&array);
  schema.release(&schema);
  CHECK(releases == 2);
}

static void params() {
  std::vector<std::uint8_t> blob = {0, 255};
  dora::Params p;
  p.set("count", 3).set("ratio", 0.5).set("ok", true).set("label", "cam").set("blob", blob);
  p.set("count", std::int64_t{4});  // replaces, keeps the order
  std::vector<DoraParam> c = p.c_params();
  CHECK(c.size() == 5);
  CHECK(std::string(c[0].key) == "count" && c[0].type == DoraParamType_Int && c[0].value.i == 4);
  CHECK(c[1].type == DoraParamType_Float && c[1].value.f == 0.5);
  CHECK(c[2].type == DoraParamType_Bool && c[2].value.b);
  // a string literal is a String, not a bool (the usual const char * pitfall)
  CHECK(c[3].type == DoraParamType_String && std::string(c[3].value.s.ptr, c[3].value.s.len) == "cam");
  CHECK(c[4].type == DoraParamType_Bytes && c[4].value.s.len == 2);
  CHECK(static_cast<std::uint8_t>(c[4].value.s.ptr[1]) == 255);
  CHECK(dora::Params().c_params().empty());
}

static void errors() {
  dora::Error e("send_output(\"x\")", "unknown output `x`");
  CHECK(std::string(e.what()) == "send_output(\"x\"): unknown output `x`");
  CHECK(e.detail() == "unknown output `x`");
  const std::runtime_error &base = e;  // catchable as std::runtime_error
  CHECK(std::string(base.what()).find("unknown output") != std::string::npos);
}

int main() {
  spans();
  primitive_arrays();
  string_arrays();
  foreign_arrays();
  params();
  errors();
  std::printf("wrapper_unit: %d checks passed (C++%ld)\n", checks, __cplusplus / 100 % 100);
  return 0;
}
