// dora C++ node API: a header-only C++17 wrapper over the C node API (dora_node_api.h).
//
//   dora::Node node;                                   // connects (DORA_NODE_CONFIG)
//   while (auto event = node.next()) {
//     if (event->type() == dora::EventType::Input && event->id() == "frame") {
//       dora::ByteSpan in = event->data();             // zero-copy view, lives with `event`
//       dora::Sample out = node.alloc_sample(in.size());  // shared memory when large
//       for (std::size_t i = 0; i < in.size(); ++i) out.data()[i] = 255 - in[i];
//       node.send_sample("inverted", std::move(out), dora::Params().set("frame", 7));
//     }
//   }
//
// Ownership is RAII: a Node frees its context, an Event its event, a Sample an unsent
// sample, an ArrowData its array and schema. Everything that returns a view
// (std::string_view, dora::Span) borrows from the object it was read from and dies with
// it. Failures throw dora::Error with the C library's dora_last_error() text; nothing here
// aborts. Same threading rules as the C API: one thread at a time uses a Node.
//
// Operators written in C++ use dora_operator_api.hpp, which includes this file.
#ifndef DORA_NODE_API_HPP
#define DORA_NODE_API_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#if __has_include(<version>)
#include <version>
#endif
#if defined(__cpp_lib_span)
#include <span>
#endif

#include "dora_node_api.h"

// dora::Span is std::span under C++20 and a class of its own under C++17, so functions
// like Event::data() return different types in the two modes while their mangled names
// would be the same. The inline namespace, named after the choice, gives them different
// names: a program mixing C++17 and C++20 files links two consistent copies instead of
// silently picking one (an ODR violation). User code never names it.
#if defined(__cpp_lib_span)
#define DORA_CXX_INLINE_NAMESPACE std_span
#else
#define DORA_CXX_INLINE_NAMESPACE own_span
#endif

namespace dora {
inline namespace DORA_CXX_INLINE_NAMESPACE {

// ---- errors --------------------------------------------------------------------------

// Every failure of the wrapper. what() is "<operation>: <dora_last_error() text>";
// detail() is the C library's text alone.
class Error : public std::runtime_error {
 public:
  Error(const std::string& operation, const std::string& detail)
      : std::runtime_error(detail.empty() ? operation : operation + ": " + detail),
        detail_(detail) {}

  // The error the C library recorded for the last failed call on this thread.
  static Error last(const std::string& operation) { return Error(operation, dora_last_error()); }

  const std::string& detail() const noexcept { return detail_; }

 private:
  std::string detail_;
};

// ---- spans ---------------------------------------------------------------------------

#if defined(__cpp_lib_span)
template <class T>
using Span = std::span<T>;
#else
// A minimal std::span stand-in for C++17 (dynamic extent only): enough for data()/size()
// and range-for, so code written against it compiles unchanged under C++20's std::span.
template <class T>
class Span {
 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  using size_type = std::size_t;
  using pointer = T *;
  using reference = T &;
  using iterator = T *;

  constexpr Span() noexcept = default;
  constexpr Span(T *data, std::size_t size) noexcept : data_(data), size_(size) {}

  // From any contiguous container or span whose elements convert by qualification only
  // (the array-pointer test is std::span's: it rejects derived-to-base and int -> long).
  template <class C,
            class P = std::remove_pointer_t<decltype(std::data(std::declval<C &>()))>,
            std::enable_if_t<std::is_convertible_v<P (*)[], T (*)[]>, int> = 0>
  constexpr Span(C &&container) noexcept  // NOLINT(google-explicit-constructor): as std::span
      : data_(std::data(container)), size_(std::size(container)) {}

  constexpr T *data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr std::size_t size_bytes() const noexcept { return size_ * sizeof(T); }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr T &operator[](std::size_t i) const noexcept { return data_[i]; }
  constexpr T *begin() const noexcept { return data_; }
  constexpr T *end() const noexcept { return data_ + size_; }
  constexpr T &front() const noexcept { return data_[0]; }
  constexpr T &back() const noexcept { return data_[size_ - 1]; }
  constexpr Span subspan(std::size_t offset, std::size_t count) const noexcept {
    return Span(data_ + offset, count);
  }
  constexpr Span first(std::size_t count) const noexcept { return Span(data_, count); }
  constexpr Span last(std::size_t count) const noexcept {
    return Span(data_ + size_ - count, count);
  }

 private:
  T *data_ = nullptr;
  std::size_t size_ = 0;
};
#endif

using ByteSpan = Span<const std::uint8_t>;
using MutableByteSpan = Span<std::uint8_t>;

// The bytes of a string, for sending text as a byte array.
inline ByteSpan bytes(std::string_view text) noexcept {
  return ByteSpan(reinterpret_cast<const std::uint8_t *>(text.data()), text.size());
}

// ---- Arrow -----------------------------------------------------------------------------

namespace detail {
// The Arrow C Data Interface format of a primitive element type: every standard integer
// type by size and signedness (so `long long` works where std::int64_t is `long`), float
// and double. Plain char, bool and the character types have none: they are not numbers.
template <class T>
struct IsStandardInteger : std::false_type {};
template <> struct IsStandardInteger<signed char> : std::true_type {};
template <> struct IsStandardInteger<unsigned char> : std::true_type {};
template <> struct IsStandardInteger<short> : std::true_type {};
template <> struct IsStandardInteger<unsigned short> : std::true_type {};
template <> struct IsStandardInteger<int> : std::true_type {};
template <> struct IsStandardInteger<unsigned int> : std::true_type {};
template <> struct IsStandardInteger<long> : std::true_type {};
template <> struct IsStandardInteger<unsigned long> : std::true_type {};
template <> struct IsStandardInteger<long long> : std::true_type {};
template <> struct IsStandardInteger<unsigned long long> : std::true_type {};

template <std::size_t Size, bool Signed>
struct IntegerFormat {};
template <> struct IntegerFormat<1, true> { static constexpr const char *value = "c"; };
template <> struct IntegerFormat<1, false> { static constexpr const char *value = "C"; };
template <> struct IntegerFormat<2, true> { static constexpr const char *value = "s"; };
template <> struct IntegerFormat<2, false> { static constexpr const char *value = "S"; };
template <> struct IntegerFormat<4, true> { static constexpr const char *value = "i"; };
template <> struct IntegerFormat<4, false> { static constexpr const char *value = "I"; };
template <> struct IntegerFormat<8, true> { static constexpr const char *value = "l"; };
template <> struct IntegerFormat<8, false> { static constexpr const char *value = "L"; };

template <class T, class = void>
struct ArrowFormat {};  // no `value`: not a primitive Arrow type
template <class T>
struct ArrowFormat<T, std::enable_if_t<IsStandardInteger<T>::value>>
    : IntegerFormat<sizeof(T), std::is_signed_v<T>> {};
template <>
struct ArrowFormat<float> { static constexpr const char *value = "f"; };
template <>
struct ArrowFormat<double> { static constexpr const char *value = "g"; };

template <class T, class = void>
struct HasArrowFormat : std::false_type {};
template <class T>
struct HasArrowFormat<T, std::void_t<decltype(ArrowFormat<T>::value)>> : std::true_type {};

// Owner of the buffers of an array built here; the array's release deletes it.
struct OwnedBuffers {
  virtual ~OwnedBuffers() = default;
  std::vector<const void *> pointers;
};
template <class T>
struct VectorBuffers : OwnedBuffers {
  std::vector<T> values;
};
struct StringBuffers : OwnedBuffers {
  std::vector<std::int32_t> offsets;
  std::string chars;
};

inline void release_owned_array(struct ArrowArray *array) {
  delete static_cast<OwnedBuffers *>(array->private_data);
  array->private_data = nullptr;
  array->release = nullptr;
}
// Schemas built here point at static format strings: nothing to free.
inline void release_static_schema(struct ArrowSchema *schema) { schema->release = nullptr; }
}  // namespace detail

// An owned Arrow array with its schema (the Arrow C Data Interface structs, released on
// destruction), with typed reads that check the format. Arrays received from dora are
// views of the message, in shared memory when large; they stay valid after the Event
// that made them is gone. Move-only.
class ArrowData {
 public:
  ArrowData() noexcept { clear(); }
  // Takes ownership of the two structs (their release callbacks will be called).
  ArrowData(const struct ArrowArray &array, const struct ArrowSchema &schema) noexcept
      : array_(array), schema_(schema) {}
  ArrowData(ArrowData &&other) noexcept : array_(other.array_), schema_(other.schema_) {
    other.clear();
  }
  ArrowData &operator=(ArrowData &&other) noexcept {
    if (this != &other) {
      reset();
      array_ = other.array_;
      schema_ = other.schema_;
      other.clear();
    }
    return *this;
  }
  ArrowData(const ArrowData &) = delete;
  ArrowData &operator=(const ArrowData &) = delete;
  ~ArrowData() { reset(); }

  // A primitive array holding `values` (moved in, no nulls).
  template <class T>
  static ArrowData from_values(std::vector<T> values) {
    static_assert(detail::HasArrowFormat<T>::value,
                  "dora::ArrowData: use a fixed-width integer type, float or double");
    auto owner = std::make_unique<detail::VectorBuffers<T>>();
    owner->values = std::move(values);
    owner->pointers = {nullptr, owner->values.data()};
    auto length = static_cast<std::int64_t>(owner->values.size());
    return adopt(std::move(owner), length, detail::ArrowFormat<T>::value);
  }

  // A UInt8 array holding a copy of `data`.
  static ArrowData from_bytes(ByteSpan data) {
    return from_values(std::vector<std::uint8_t>(data.begin(), data.end()));
  }

  // A utf8 (format "u") array of the given strings, copied.
  template <class Strings>
  static ArrowData from_strings(const Strings &strings) {
    auto owner = std::make_unique<detail::StringBuffers>();
    owner->offsets.push_back(0);
    for (const auto &item : strings) {
      std::string_view text(item);
      if (owner->chars.size() + text.size() > static_cast<std::size_t>(INT32_MAX)) {
        throw Error("ArrowData::from_strings", "more than 2 GiB of text in one utf8 array");
      }
      owner->chars.append(text.data(), text.size());
      owner->offsets.push_back(static_cast<std::int32_t>(owner->chars.size()));
    }
    owner->pointers = {nullptr, owner->offsets.data(), owner->chars.data()};
    auto length = static_cast<std::int64_t>(owner->offsets.size() - 1);
    return adopt(std::move(owner), length, "u");
  }
  static ArrowData from_strings(std::initializer_list<std::string_view> strings) {
    return from_strings<std::initializer_list<std::string_view>>(strings);
  }

  bool valid() const noexcept { return array_.release != nullptr; }
  std::int64_t length() const noexcept { return array_.length; }
  std::int64_t null_count() const noexcept { return array_.null_count; }
  std::string_view format() const noexcept {
    return schema_.release && schema_.format ? std::string_view(schema_.format) : "";
  }

  // True when element `i` is null (the null type's elements all are).
  bool is_null(std::int64_t i) const {
    check_index(i, "is_null");
    if (format() == "n") return true;
    if (array_.null_count == 0 || array_.n_buffers < 1 || !array_.buffers[0]) return false;
    return !bit(array_.buffers[0], array_.offset + i);
  }

  // The values of a primitive array as a span (no copy). T must match the format:
  // std::int8_t "c" ... std::uint64_t "L" (any integer type of that size and signedness),
  // float "f", double "g". Null slots hold
  // unspecified values: check is_null() when null_count() != 0.
  template <class T>
  Span<const T> values() const {
    static_assert(detail::HasArrowFormat<T>::value,
                  "dora::ArrowData::values<T>: use a fixed-width integer type, float or double");
    expect_format(detail::ArrowFormat<T>::value, "values");
    if (array_.length == 0) return Span<const T>();
    const auto *base = static_cast<const T *>(buffer(1));
    return Span<const T>(base + array_.offset, static_cast<std::size_t>(array_.length));
  }

  // Element `i` of a bool ("b") array.
  bool bool_at(std::int64_t i) const {
    expect_format("b", "bool_at");
    check_index(i, "bool_at");
    return bit(buffer(1), array_.offset + i);
  }

  // Element `i` of a utf8 ("u") or large utf8 ("U") array; "" for a null slot.
  std::string_view string_at(std::int64_t i) const {
    std::string_view f = format();
    if (f != "u" && f != "U") {
      throw Error("ArrowData::string_at",
                  "expected a utf8 array, got format `" + std::string(f) + "`");
    }
    ByteSpan b = bytes_at(i);
    return std::string_view(reinterpret_cast<const char *>(b.data()), b.size());
  }

  // Element `i` of a binary ("z", "Z"), utf8 ("u", "U") or fixed-size binary ("w:N") array.
  ByteSpan bytes_at(std::int64_t i) const {
    check_index(i, "bytes_at");
    std::string_view f = format();
    std::int64_t at = array_.offset + i;
    std::int64_t begin = 0, end = 0;
    if (f == "u" || f == "z") {
      const auto *offsets = static_cast<const std::int32_t *>(buffer(1));
      begin = offsets[at];
      end = offsets[at + 1];
    } else if (f == "U" || f == "Z") {
      const auto *offsets = static_cast<const std::int64_t *>(buffer(1));
      begin = offsets[at];
      end = offsets[at + 1];
    } else if (f.substr(0, 2) == "w:") {
      std::int64_t width = std::stoll(std::string(f.substr(2)));
      const auto *base = static_cast<const std::uint8_t *>(buffer(1));
      return ByteSpan(base + at * width, static_cast<std::size_t>(width));
    } else {
      throw Error("ArrowData::bytes_at",
                  "expected a binary or utf8 array, got format `" + std::string(f) + "`");
    }
    if (end == begin) return ByteSpan();
    const auto *chars = static_cast<const std::uint8_t *>(buffer(2));
    return ByteSpan(chars + begin, static_cast<std::size_t>(end - begin));
  }

  // The C structs, still owned by this object (for dora_send_output_arrow and friends).
  const struct ArrowArray *c_array() const noexcept { return &array_; }
  const struct ArrowSchema *c_schema() const noexcept { return &schema_; }

  // Moves the structs out: the caller (or whoever it hands them to) releases them.
  void release_into(struct ArrowArray *array_out, struct ArrowSchema *schema_out) noexcept {
    *array_out = array_;
    *schema_out = schema_;
    clear();
  }

 private:
  // Wraps buffers built here: the array's release callback deletes `owner`.
  static ArrowData adopt(std::unique_ptr<detail::OwnedBuffers> owner, std::int64_t length,
                         const char *format) noexcept {
    struct ArrowArray array;
    std::memset(&array, 0, sizeof array);
    array.length = length;
    array.n_buffers = static_cast<std::int64_t>(owner->pointers.size());
    array.buffers = owner->pointers.data();
    array.release = &detail::release_owned_array;
    array.private_data = owner.release();
    struct ArrowSchema schema;
    std::memset(&schema, 0, sizeof schema);
    schema.format = format;
    schema.name = "";
    schema.flags = ARROW_FLAG_NULLABLE;
    schema.release = &detail::release_static_schema;
    return ArrowData(array, schema);
  }

  void clear() noexcept {
    std::memset(&array_, 0, sizeof array_);
    std::memset(&schema_, 0, sizeof schema_);
  }
  void reset() noexcept {
    if (array_.release) array_.release(&array_);
    if (schema_.release) schema_.release(&schema_);
    clear();
  }
  void check_index(std::int64_t i, const char *what) const {
    if (!valid()) throw Error(std::string("ArrowData::") + what, "the array was moved or released");
    if (i < 0 || i >= array_.length) {
      throw std::out_of_range(std::string("dora::ArrowData::") + what + ": index " +
                              std::to_string(i) + " out of range (length " +
                              std::to_string(array_.length) + ")");
    }
  }
  void expect_format(std::string_view expected, const char *what) const {
    if (!valid()) throw Error(std::string("ArrowData::") + what, "the array was moved or released");
    if (format() != expected) {
      throw Error(std::string("ArrowData::") + what, "expected Arrow format `" +
                                                         std::string(expected) + "`, got `" +
                                                         std::string(format()) + "`");
    }
  }
  const void *buffer(std::int64_t index) const {
    if (index >= array_.n_buffers || !array_.buffers[index]) {
      throw Error("ArrowData", "format `" + std::string(format()) + "` array lacks buffer " +
                                   std::to_string(index));
    }
    return array_.buffers[index];
  }
  static bool bit(const void *bitmap, std::int64_t index) noexcept {
    const auto *bytes = static_cast<const std::uint8_t *>(bitmap);
    return (bytes[index / 8] >> (index % 8)) & 1;
  }

  struct ArrowArray array_;
  struct ArrowSchema schema_;
};

// ---- parameters (metadata) ---------------------------------------------------------------

enum class ParamType {
  Missing = DoraParamType_Missing,
  Bool = DoraParamType_Bool,
  Int = DoraParamType_Int,
  Float = DoraParamType_Float,
  String = DoraParamType_String,
  Bytes = DoraParamType_Bytes,
  Other = DoraParamType_Other,
};

// Metadata parameters to send with an output, built by chaining:
//   dora::Params().set("frame", 3).set("encoding", "rgb8").set("scale", 0.5)
// Keys and values are copied; setting a key again replaces its value.
class Params {
 public:
  template <class T>
  Params &set(std::string_view key, const T &value) {
    Entry &entry = slot(key);
    if constexpr (std::is_same_v<T, bool>) {
      entry.type = DoraParamType_Bool;
      entry.b = value;
    } else if constexpr (std::is_integral_v<T>) {
      entry.type = DoraParamType_Int;
      entry.i = static_cast<std::int64_t>(value);
    } else if constexpr (std::is_floating_point_v<T>) {
      entry.type = DoraParamType_Float;
      entry.f = static_cast<double>(value);
    } else if constexpr (std::is_convertible_v<const T &, std::string_view>) {
      entry.type = DoraParamType_String;
      std::string_view text(value);
      entry.blob.assign(text.data(), text.size());
    } else {
      static_assert(std::is_convertible_v<const T &, ByteSpan>,
                    "dora::Params::set: bool, integer, floating point, string or bytes");
      set_bytes(key, ByteSpan(value));
    }
    return *this;
  }

  Params &set_bytes(std::string_view key, ByteSpan value) {
    Entry &entry = slot(key);
    entry.type = DoraParamType_Bytes;
    entry.blob.assign(reinterpret_cast<const char *>(value.data()), value.size());
    return *this;
  }

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }

  // The C view, pointing into this object: valid while it is alive and unchanged.
  std::vector<DoraParam> c_params() const {
    std::vector<DoraParam> out(entries_.size());
    for (std::size_t n = 0; n < entries_.size(); ++n) {
      const Entry &e = entries_[n];
      DoraParam &p = out[n];
      std::memset(&p, 0, sizeof p);
      p.key = e.key.c_str();
      p.type = e.type;
      switch (e.type) {
        case DoraParamType_Bool: p.value.b = e.b; break;
        case DoraParamType_Int: p.value.i = e.i; break;
        case DoraParamType_Float: p.value.f = e.f; break;
        default:
          p.value.s.ptr = e.blob.data();
          p.value.s.len = e.blob.size();
      }
    }
    return out;
  }

 private:
  struct Entry {
    std::string key;
    DoraParamType type = DoraParamType_Missing;
    bool b = false;
    std::int64_t i = 0;
    double f = 0.0;
    std::string blob;
  };
  Entry &slot(std::string_view key) {
    for (Entry &e : entries_) {
      if (e.key == key) return e;
    }
    entries_.emplace_back();
    entries_.back().key.assign(key.data(), key.size());
    return entries_.back();
  }
  std::vector<Entry> entries_;
};

// ---- events ----------------------------------------------------------------------------

enum class EventType {
  Stop = DoraEventType_Stop,
  Input = DoraEventType_Input,
  InputClosed = DoraEventType_InputClosed,
  Error = DoraEventType_Error,
  Unknown = DoraEventType_Unknown,  // type_name() tells: NODE_RESTARTED, PARAM_UPDATE, ...
};

// One event from Node::next(). Views read from it (id, data, text, string params) live as
// long as the Event; arrow() arrays outlive it. Move-only.
class Event {
 public:
  explicit Event(void *raw) noexcept : raw_(raw) {}
  Event(Event &&other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
  Event &operator=(Event &&other) noexcept {
    if (this != &other) {
      free_dora_event(raw_);
      raw_ = std::exchange(other.raw_, nullptr);
    }
    return *this;
  }
  Event(const Event &) = delete;
  Event &operator=(const Event &) = delete;
  ~Event() { free_dora_event(raw_); }

  EventType type() const noexcept { return static_cast<EventType>(read_dora_event_type(raw_)); }
  // "INPUT", "INPUT_CLOSED", "STOP", "ERROR", "NODE_RESTARTED", "PARAM_UPDATE", ...
  std::string_view type_name() const noexcept { return dora_event_type_name(raw_); }
  bool is_input() const noexcept { return type() == EventType::Input; }

  // The input id (Input, InputClosed); "" otherwise.
  std::string_view id() const noexcept {
    char *ptr = nullptr;
    std::size_t len = 0;
    read_dora_input_id(raw_, &ptr, &len);
    return ptr ? std::string_view(ptr, len) : std::string_view();
  }

  // The payload when it is a byte array (Arrow UInt8 without nulls), zero-copy; empty
  // otherwise (use arrow() for other types).
  ByteSpan data() const noexcept {
    char *ptr = nullptr;
    std::size_t len = 0;
    read_dora_input_data(raw_, &ptr, &len);
    return ptr ? ByteSpan(reinterpret_cast<const std::uint8_t *>(ptr), len) : ByteSpan();
  }

  std::uint64_t timestamp_ns() const noexcept { return dora_event_timestamp_ns(raw_); }

  // The error message, stop cause, restarted node or parameter key; "" when none.
  std::string_view text() const noexcept {
    const char *ptr = nullptr;
    std::size_t len = 0;
    dora_event_text(raw_, &ptr, &len);
    return ptr ? std::string_view(ptr, len) : std::string_view();
  }

  // PARAM_UPDATE: the new value as JSON text.
  std::string_view param_update_json() const noexcept {
    const char *ptr = nullptr;
    std::size_t len = 0;
    dora_event_param_json(raw_, &ptr, &len);
    return ptr ? std::string_view(ptr, len) : std::string_view();
  }

  // The input as an Arrow array (zero-copy); throws dora::Error for unsupported types.
  ArrowData arrow() const {
    struct ArrowArray array;
    struct ArrowSchema schema;
    std::memset(&array, 0, sizeof array);
    std::memset(&schema, 0, sizeof schema);
    if (dora_event_arrow(raw_, &array, &schema) != DORA_OK) throw Error::last("Event::arrow");
    return ArrowData(array, schema);
  }

  // ---- metadata parameters: std::nullopt when absent or of another type
  // (no conversion but int -> float).
  std::vector<std::string_view> param_keys() const {
    std::vector<std::string_view> keys;
    std::size_t n = dora_event_param_count(raw_);
    for (std::size_t i = 0; i < n; ++i) {
      if (const char *key = dora_event_param_key(raw_, i)) keys.emplace_back(key);
    }
    return keys;
  }
  ParamType param_type(std::string_view key) const {
    return static_cast<ParamType>(dora_event_param_type(raw_, std::string(key).c_str()));
  }
  std::optional<bool> param_bool(std::string_view key) const {
    bool out = false;
    if (dora_event_param_bool(raw_, std::string(key).c_str(), &out) != DORA_OK) return {};
    return out;
  }
  std::optional<std::int64_t> param_int(std::string_view key) const {
    std::int64_t out = 0;
    if (dora_event_param_int(raw_, std::string(key).c_str(), &out) != DORA_OK) return {};
    return out;
  }
  std::optional<double> param_float(std::string_view key) const {
    double out = 0.0;
    if (dora_event_param_float(raw_, std::string(key).c_str(), &out) != DORA_OK) return {};
    return out;
  }
  std::optional<std::string_view> param_string(std::string_view key) const {
    const char *ptr = nullptr;
    std::size_t len = 0;
    if (dora_event_param_string(raw_, std::string(key).c_str(), &ptr, &len) != DORA_OK) {
      return {};
    }
    return std::string_view(ptr ? ptr : "", len);
  }
  std::optional<ByteSpan> param_bytes(std::string_view key) const {
    const std::uint8_t *ptr = nullptr;
    std::size_t len = 0;
    if (dora_event_param_bytes(raw_, std::string(key).c_str(), &ptr, &len) != DORA_OK) {
      return {};
    }
    return ByteSpan(ptr, len);
  }
  // Any parameter (lists and maps too) as JSON text.
  std::optional<std::string> param_json(std::string_view key) const {
    char *text = dora_event_param_to_json(raw_, std::string(key).c_str());
    if (!text) return {};
    std::string out(text);
    dora_free_string(text);
    return out;
  }

  void *c_event() const noexcept { return raw_; }
  // Gives up ownership: the caller frees the event with free_dora_event.
  void *release() noexcept { return std::exchange(raw_, nullptr); }

 private:
  void *raw_;
};

// ---- samples (allocate, fill, send) -------------------------------------------------------

// Room to fill before Node::send_sample: in shared memory when large, so the bytes are
// written once. An unsent sample is freed on destruction. It must not outlive its Node.
class Sample {
 public:
  Sample(Sample &&other) noexcept
      : context_(other.context_), raw_(std::exchange(other.raw_, nullptr)),
        data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  Sample &operator=(Sample &&other) noexcept {
    if (this != &other) {
      reset();
      context_ = other.context_;
      raw_ = std::exchange(other.raw_, nullptr);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  Sample(const Sample &) = delete;
  Sample &operator=(const Sample &) = delete;
  ~Sample() { reset(); }

  MutableByteSpan data() noexcept { return MutableByteSpan(data_, size_); }
  std::size_t size() const noexcept { return size_; }
  void *c_sample() const noexcept { return raw_; }

 private:
  friend class Node;
  Sample(void *context, void *raw, std::uint8_t *data, std::size_t size) noexcept
      : context_(context), raw_(raw), data_(data), size_(size) {}
  void *release() noexcept {
    data_ = nullptr;
    size_ = 0;
    return std::exchange(raw_, nullptr);
  }
  void reset() noexcept {
    if (raw_) dora_free_sample(context_, raw_);
    raw_ = nullptr;
    data_ = nullptr;
    size_ = 0;
  }

  void *context_;
  void *raw_;
  std::uint8_t *data_;
  std::size_t size_;
};

// ---- the node ----------------------------------------------------------------------------

// This process's dora node. Constructing it connects to the daemon with the environment
// the daemon gave the node and waits for the dataflow to start; destroying it closes the
// outputs and the connection. Move-only.
class Node {
 public:
  Node() : context_(init_dora_context_from_env()) {
    if (!context_) throw Error::last("init_dora_context_from_env");
  }
  static Node from_env() { return Node(); }
  Node(Node &&other) noexcept
      : context_(std::exchange(other.context_, nullptr)), ended_(other.ended_) {}
  Node &operator=(Node &&other) noexcept {
    if (this != &other) {
      free_dora_context(context_);
      context_ = std::exchange(other.context_, nullptr);
      ended_ = other.ended_;
    }
    return *this;
  }
  Node(const Node &) = delete;
  Node &operator=(const Node &) = delete;
  ~Node() { free_dora_context(context_); }

  // The next event, blocking; std::nullopt once the stream has ended.
  std::optional<Event> next() { return next_within(-1); }

  // The next event within `timeout`; std::nullopt when nothing came in time or the
  // stream has ended (finished() tells which).
  std::optional<Event> next(std::chrono::milliseconds timeout) {
    const std::int64_t ms = timeout.count();  // the rep is at least 45 bits: no narrowing
    return next_within(ms < 0 ? 0 : ms);
  }

  // True once next() has reported the end of the event stream.
  bool finished() const noexcept { return ended_; }

  // Range-for over the events, as Python's `for event in node`: each step is next(),
  // and the loop ends with the stream. `for (dora::Event &event : node) { ... }`
  class EventIterator;
  struct EventEnd {};
  EventIterator begin();
  EventEnd end() noexcept { return EventEnd(); }

  // Sends bytes (an Arrow UInt8 array) on output `id`.
  void send_output(std::string_view id, ByteSpan data, const Params &params = Params()) {
    std::vector<DoraParam> c = params.c_params();
    if (dora_send_output_with_params(context(), id.data(), id.size(),
                                     reinterpret_cast<const char *>(data.data()), data.size(),
                                     c.data(), c.size()) != DORA_OK) {
      throw Error::last("send_output(\"" + std::string(id) + "\")");
    }
  }

  // Sends an Arrow array on output `id` (borrowed: `array` stays owned by the caller).
  void send_output(std::string_view id, const ArrowData &array, const Params &params = Params()) {
    std::vector<DoraParam> c = params.c_params();
    if (dora_send_output_arrow(context(), id.data(), id.size(), array.c_array(),
                               array.c_schema(), c.data(), c.size()) != DORA_OK) {
      throw Error::last("send_output(\"" + std::string(id) + "\")");
    }
  }

  // Room for `size` bytes to fill and send with send_sample (no further copy).
  Sample alloc_sample(std::size_t size) {
    std::uint8_t *data = nullptr;
    void *raw = dora_alloc_sample(context(), size, &data);
    if (!raw) throw Error::last("alloc_sample(" + std::to_string(size) + ")");
    return Sample(context_, raw, data, size);
  }

  // Sends a filled sample on output `id`; the sample is consumed even when this throws.
  void send_sample(std::string_view id, Sample &&sample, const Params &params = Params()) {
    std::vector<DoraParam> c = params.c_params();
    void *raw = sample.release();
    if (!raw) throw Error("send_sample(\"" + std::string(id) + "\")", "the sample is empty (moved or sent)");
    if (dora_send_sample(context(), id.data(), id.size(), raw, c.data(), c.size()) != DORA_OK) {
      throw Error::last("send_sample(\"" + std::string(id) + "\")");
    }
  }

  // A log record at `level`: "error", "warn", "info", "debug" or "trace".
  void log(std::string_view level, std::string_view message) {
    if (dora_log(context(), level.data(), level.size(), message.data(), message.size()) !=
        DORA_OK) {
      throw Error::last("log");
    }
  }

  // Tells the receivers of these outputs that nothing more comes on them.
  void close_outputs(const std::vector<std::string> &ids) {
    std::vector<const char *> c;
    c.reserve(ids.size());
    for (const std::string &id : ids) c.push_back(id.c_str());
    if (dora_close_outputs(context(), c.data(), c.size()) != DORA_OK) {
      throw Error::last("close_outputs");
    }
  }
  void close_outputs(std::initializer_list<std::string_view> ids) {
    close_outputs(std::vector<std::string>(ids.begin(), ids.end()));
  }

  std::string_view dataflow_id() const noexcept { return view(dora_dataflow_id(context_)); }
  std::string_view node_id() const noexcept { return view(dora_node_id(context_)); }
  unsigned int restart_count() const noexcept { return dora_restart_count(context_); }

  void *c_context() const noexcept { return context_; }

 private:
  static std::string_view view(const char *text) noexcept {
    return text ? std::string_view(text) : std::string_view();
  }
  void *context() const {
    if (!context_) throw Error("dora::Node", "the node was moved from");
    return context_;
  }
  std::optional<Event> next_within(std::int64_t timeout_ms) {
    if (ended_) return std::nullopt;
    void *raw = nullptr;
    switch (dora_next_event_timeout(context(), timeout_ms, &raw)) {
      case DORA_OK: return Event(raw);
      case DORA_TIMEOUT: return std::nullopt;
      case DORA_END_OF_STREAM: ended_ = true; return std::nullopt;
      default: throw Error::last("next");
    }
  }

  void *context_;
  bool ended_ = false;
};

// An input iterator over Node::next(); the event it points at lives until the next step.
class Node::EventIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = Event;
  using difference_type = std::ptrdiff_t;
  using pointer = Event *;
  using reference = Event &;

  explicit EventIterator(Node *node) : node_(node) { ++*this; }
  Event &operator*() noexcept { return *current_; }
  Event *operator->() noexcept { return &*current_; }
  EventIterator &operator++() {
    current_.reset();  // free the previous event before waiting for the next
    current_ = node_->next();
    return *this;
  }
  bool operator==(EventEnd) const noexcept { return !current_; }
  bool operator!=(EventEnd) const noexcept { return current_.has_value(); }

 private:
  Node *node_;
  std::optional<Event> current_;
};

inline Node::EventIterator Node::begin() { return EventIterator(this); }

}  // inline namespace DORA_CXX_INLINE_NAMESPACE
}  // namespace dora

#endif  // DORA_NODE_API_HPP
