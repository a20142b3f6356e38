#include "sluice/value.h"

namespace sluice {

// SQL spellings (SPEC §2), used by EXPLAIN and error messages.
const char* type_name(Type t) noexcept {
    switch (t) {
        case Type::Null:
            return "NULL";
        case Type::Bool:
            return "BOOLEAN";
        case Type::Int:
            return "BIGINT";
        case Type::Double:
            return "DOUBLE";
        case Type::String:
            return "VARCHAR";
    }
    return "UNKNOWN";
}

}  // namespace sluice
