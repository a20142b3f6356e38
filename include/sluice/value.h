// A dynamically typed SQL value. JSON fields carry their type at run time, so
// every stage passes these 16-byte values; strings are views whose storage is
// owned by whoever produced them (parser buffer, ring slot, arena, plan).
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice {

enum class Type : uint8_t { Null = 0, Bool, Int, Double, String };

const char* type_name(Type t) noexcept;

struct Value {
    union {
        int64_t i;
        double d;
        bool b;
        const char* s;
    };
    uint32_t len = 0;  // string length in bytes
    Type type = Type::Null;

    constexpr Value() noexcept : i(0) {}

    static constexpr Value null() noexcept { return Value{}; }
    static constexpr Value of_int(int64_t v) noexcept {
        Value x;
        x.type = Type::Int;
        x.i = v;
        return x;
    }
    static constexpr Value of_double(double v) noexcept {
        Value x;
        x.type = Type::Double;
        x.d = v;
        return x;
    }
    static constexpr Value of_bool(bool v) noexcept {
        Value x;
        x.type = Type::Bool;
        x.b = v;
        return x;
    }
    static constexpr Value of_string(const char* p, uint32_t n) noexcept {
        Value x;
        x.type = Type::String;
        x.s = p;
        x.len = n;
        return x;
    }
    static Value of_string(std::string_view sv) noexcept {
        return of_string(sv.data(), static_cast<uint32_t>(sv.size()));
    }

    constexpr bool is_null() const noexcept { return type == Type::Null; }
    constexpr bool is_number() const noexcept { return type == Type::Int || type == Type::Double; }
    std::string_view str() const noexcept { return {s, len}; }
    // Numeric value as double; only meaningful when is_number().
    constexpr double as_double() const noexcept { return type == Type::Int ? static_cast<double>(i) : d; }
};

static_assert(sizeof(Value) == 16, "Value must stay two words");

}  // namespace sluice
