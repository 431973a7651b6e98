// dora C++ operators: a header-only C++17 layer over the C operator ABI (operator_api.h).
//
//   class Doubler {
//    public:
//     dora::operator_api::Status on_event(dora::operator_api::Event &event,
//                                         dora::operator_api::Sender &send) {
//       if (event.is_input()) {
//         dora::ArrowData in = event.input().arrow();
//         std::vector<double> out;
//         for (double v : in.values<double>()) out.push_back(2 * v);
//         send.send("doubled", dora::ArrowData::from_values(std::move(out)));
//       }
//       return dora::operator_api::Status::Continue;
//     }
//   };
//   DORA_OPERATOR(Doubler);
//
// DORA_OPERATOR(Type) defines the three exported functions of the ABI: dora_init_operator
// constructs a Type, dora_on_event calls Type::on_event (returning Status, or void for
// Continue), dora_drop_operator destroys it. An exception thrown from the constructor or
// on_event becomes the operator's error result (dora_result_error) with its what() text,
// so the runtime reports it; nothing unwinds into the runtime.
//
// Link with the operator library: `dora c-api --operator --cflags --libs`.
#ifndef DORA_OPERATOR_API_HPP
#define DORA_OPERATOR_API_HPP

#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "dora_node_api.hpp"
#include "operator_api.h"

#if defined(_WIN32)
#define DORA_OPERATOR_EXPORT __declspec(dllexport)
#else
#define DORA_OPERATOR_EXPORT __attribute__((visibility("default")))
#endif

namespace dora {
inline namespace DORA_CXX_INLINE_NAMESPACE {  // see dora_node_api.hpp
namespace operator_api {

enum class Status : DoraStatus_t {
  Continue = DORA_STATUS_CONTINUE,  // keep going
  Stop = DORA_STATUS_STOP,          // this operator is done
  StopAll = DORA_STATUS_STOP_ALL,   // stop every operator of the runtime node
};

// An input's bytes, copied by the runtime (dora_read_data) and freed on destruction; for
// zero-copy access use Input::arrow(). Move-only.
class Bytes {
 public:
  explicit Bytes(Vec_uint8_t vec) noexcept : vec_(vec) {}
  Bytes(Bytes &&other) noexcept : vec_(std::exchange(other.vec_, Vec_uint8_t{nullptr, 0, 0})) {}
  Bytes &operator=(Bytes &&other) noexcept {
    if (this != &other) {
      reset();
      vec_ = std::exchange(other.vec_, Vec_uint8_t{nullptr, 0, 0});
    }
    return *this;
  }
  Bytes(const Bytes &) = delete;
  Bytes &operator=(const Bytes &) = delete;
  ~Bytes() { reset(); }

  const std::uint8_t *data() const noexcept { return vec_.ptr; }
  std::size_t size() const noexcept { return vec_.len; }
  bool empty() const noexcept { return vec_.len == 0; }
  const std::uint8_t *begin() const noexcept { return vec_.ptr; }
  const std::uint8_t *end() const noexcept { return vec_.ptr + vec_.len; }
  const std::uint8_t &operator[](std::size_t i) const noexcept { return vec_.ptr[i]; }
  ByteSpan span() const noexcept { return ByteSpan(vec_.ptr, vec_.len); }

 private:
  void reset() noexcept {
    if (vec_.ptr) dora_free_data(vec_);  // an empty read may carry no allocation
    vec_ = Vec_uint8_t{nullptr, 0, 0};
  }
  Vec_uint8_t vec_;
};

// One input of an event; valid during the on_event call that received it.
class Input {
 public:
  explicit Input(Input_t *raw) : raw_(raw) {
    char *id = dora_read_input_id(raw_);
    if (id) {
      id_ = id;
      dora_free_input_id(id);
    }
  }

  const std::string &id() const noexcept { return id_; }
  // The bytes of a UInt8 input (empty for other types), copied.
  Bytes data() const { return Bytes(dora_read_data(raw_)); }
  // The input as an Arrow array, zero-copy; it may outlive the on_event call.
  ArrowData arrow() const {
    struct ArrowArray array;
    struct ArrowSchema schema;
    std::memset(&array, 0, sizeof array);
    std::memset(&schema, 0, sizeof schema);
    if (dora_read_input_arrow(raw_, &array, &schema) != 0) {
      throw Error("Input::arrow", "input `" + id_ + "` carries no Arrow data");
    }
    return ArrowData(array, schema);
  }
  std::uint64_t timestamp_ns() const noexcept { return dora_read_input_timestamp_ns(raw_); }
  Input_t *c_input() const noexcept { return raw_; }

 private:
  Input_t *raw_;
  std::string id_;
};

// The event handed to on_event: an input, a closed input, a stop, or an error.
class Event {
 public:
  enum class Kind { Input, InputClosed, Stop, Error };

  explicit Event(RawEvent_t *raw) : raw_(raw) {
    if (raw_->input) {
      kind_ = Kind::Input;
      input_.emplace(raw_->input);
    } else if (raw_->input_closed.ptr) {
      kind_ = Kind::InputClosed;
    } else if (raw_->stop) {
      kind_ = Kind::Stop;
    } else {
      kind_ = Kind::Error;
    }
  }

  Kind kind() const noexcept { return kind_; }
  bool is_input() const noexcept { return kind_ == Kind::Input; }
  bool is_stop() const noexcept { return kind_ == Kind::Stop; }

  // The input; throws dora::Error when the event is not an input.
  const Input &input() const {
    if (!input_) throw Error("operator_api::Event::input", "the event is not an input");
    return *input_;
  }
  // The input id of an Input or InputClosed event; "" otherwise.
  std::string_view id() const noexcept {
    if (input_) return input_->id();
    if (kind_ == Kind::InputClosed) return view(raw_->input_closed);
    return std::string_view();
  }
  // The message of an Error event; "" otherwise.
  std::string_view error() const noexcept {
    return kind_ == Kind::Error ? view(raw_->error) : std::string_view();
  }
  RawEvent_t *c_event() const noexcept { return raw_; }

 private:
  static std::string_view view(const Vec_uint8_t &vec) noexcept {
    return vec.ptr ? std::string_view(reinterpret_cast<const char *>(vec.ptr), vec.len)
                   : std::string_view();
  }
  RawEvent_t *raw_;
  Kind kind_;
  std::optional<Input> input_;
};

namespace detail {
// Throws the message a failed DoraResult_t carries, after freeing it.
inline void check(DoraResult_t result, const std::string &operation) {
  if (!result.error) return;
  std::string text(reinterpret_cast<const char *>(result.error->ptr), result.error->len);
  dora_free_result_error(result);
  throw Error(operation, text);
}
}  // namespace detail

// Sends the operator's outputs; valid during the on_event call that received it.
class Sender {
 public:
  explicit Sender(const SendOutput_t *raw) noexcept : raw_(raw) {}

  // Bytes (a UInt8 array) on output `id`.
  void send(std::string_view id, ByteSpan data) const {
    std::string key(id);
    detail::check(dora_send_operator_output(raw_, key.c_str(), data.data(), data.size()),
                  "send(\"" + key + "\")");
  }
  // An Arrow array on output `id`; it is moved to the runtime whatever the outcome.
  void send(std::string_view id, ArrowData &&array) const {
    std::string key(id);
    struct ArrowArray c_array;
    struct ArrowSchema c_schema;
    array.release_into(&c_array, &c_schema);
    detail::check(dora_send_operator_output_arrow(raw_, key.c_str(), &c_array, &c_schema),
                  "send(\"" + key + "\")");
  }
  const SendOutput_t *c_send_output() const noexcept { return raw_; }

 private:
  const SendOutput_t *raw_;
};

namespace detail {
inline DoraResult_t error_result(const char *what) noexcept {
  return dora_result_error(what && *what ? what : "C++ operator failed");
}

template <class Op>
DoraInitResult_t init() noexcept {
  DoraInitResult_t result;
  result.result.error = nullptr;
  result.operator_context = nullptr;
  try {
    result.operator_context = new Op();
  } catch (const std::exception &e) {
    result.result = error_result(e.what());
  } catch (...) {
    result.result = error_result("C++ operator constructor threw a non-std exception");
  }
  return result;
}

template <class Op>
DoraResult_t drop(void *context) noexcept {
  delete static_cast<Op *>(context);
  DoraResult_t result;
  result.error = nullptr;
  return result;
}

template <class Op>
OnEventResult_t on_event(RawEvent_t *raw, const SendOutput_t *send_output,
                         void *context) noexcept {
  OnEventResult_t result;
  result.result.error = nullptr;
  result.status = DORA_STATUS_CONTINUE;
  try {
    Event event(raw);
    Sender sender(send_output);
    Op &op = *static_cast<Op *>(context);
    using Returned = decltype(op.on_event(event, sender));
    if constexpr (std::is_void_v<Returned>) {
      op.on_event(event, sender);
    } else {
      static_assert(std::is_same_v<Returned, Status>,
                    "on_event must return dora::operator_api::Status or void");
      result.status = static_cast<DoraStatus_t>(op.on_event(event, sender));
    }
  } catch (const std::exception &e) {
    result.result = error_result(e.what());
  } catch (...) {
    result.result = error_result("C++ operator on_event threw a non-std exception");
  }
  return result;
}
}  // namespace detail

}  // namespace operator_api
}  // inline namespace DORA_CXX_INLINE_NAMESPACE
}  // namespace dora

// Exports the C operator ABI for `Type` (see the top of this file). Use once per shared
// library, at namespace scope; the trailing static_assert takes the user's semicolon.
#define DORA_OPERATOR(Type)                                                              \
  extern "C" DORA_OPERATOR_EXPORT DoraInitResult_t dora_init_operator(void) {           \
    return ::dora::operator_api::detail::init<Type>();                                   \
  }                                                                                      \
  extern "C" DORA_OPERATOR_EXPORT DoraResult_t dora_drop_operator(void *context) {       \
    return ::dora::operator_api::detail::drop<Type>(context);                            \
  }                                                                                      \
  extern "C" DORA_OPERATOR_EXPORT OnEventResult_t dora_on_event(                         \
      RawEvent_t *event, const SendOutput_t *send_output, void *context) {               \
    return ::dora::operator_api::detail::on_event<Type>(event, send_output, context);    \
  }                                                                                      \
  static_assert(true, "DORA_OPERATOR")

#endif  // DORA_OPERATOR_API_HPP
